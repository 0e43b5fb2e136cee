# The message-level pair as an HTTP/1 reverse proxy: the codec filters around demux and mux, every client's requests
# pipelined onto shared keep-alive upstream connections (one while it keeps up; another past max_queue waiting).
# The bench's msgmux case runs it beside proxy.py (demux_http -> mux_http -> connect) against the same upstream.
import os
from pipyx import pipy
target = os.environ.get('TARGET', '127.0.0.1:8081')
(pipy().listen(int(os.environ.get('PORT', 8080)))
    .decode_http_request()
    .demux().to(lambda p: p.mux('upstream').to(
        lambda s: s.encode_http_request().connect(target).decode_http_response()))
    .encode_http_response())
