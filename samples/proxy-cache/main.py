# A caching reverse proxy: GET responses from UPSTREAM are kept in memory and answered from there while they are
# fresh, as the upstream's Cache-Control says (or for TTL seconds when it says nothing). See README.md.
import os

from pipyx import pipy
from pipyx.files import ResponseCache      # also adds proxy_cache() to the builder

port = int(os.environ.get('PORT', '8000'))
upstream = os.environ.get('UPSTREAM', '127.0.0.1:8081')

cache = ResponseCache(
    ttl=float(os.environ.get('TTL', '10')),     # seconds, for responses that carry no freshness of their own
    max_size=64 << 20,                          # bytes in all; the least recently used go first
    max_entry_size=1 << 20,                     # larger responses pass through unstored
    cache_header='x-cache',                     # x-cache: hit | miss on every response
)

(pipy()
    .listen(port)
    .demux_http().to(lambda p: p               # one sub-pipeline per request
        .proxy_cache(cache).to(lambda p: p     # answered from the cache, or else...
            .mux_http().to(lambda p: p         # ...sent upstream, and the response kept if it may be
                .connect(upstream)
            )
        )
    )
)
