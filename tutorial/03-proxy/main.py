# Step 3: a reverse proxy. Every request that comes in on PORT goes to the UPSTREAM server.
import os

from pipyx import pipy

port = int(os.environ.get('PORT', '8000'))
upstream = os.environ.get('UPSTREAM', '127.0.0.1:8081')

(pipy()
    .listen(port)
    .demux_http().to(lambda p: p      # one sub-pipeline per request
        .mux_http().to(lambda p: p    # requests share pooled connections...
            .connect(upstream)        # ...to the upstream
        )
    )
)
