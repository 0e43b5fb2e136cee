# The last module of the chain: the proxy of step 3, as a pipeline named 'request'.
import os

from pipyx import pipy

upstream = os.environ.get('UPSTREAM', '127.0.0.1:8081')

(pipy()
    .pipeline('request')
    .mux_http().to(lambda p: p
        .connect(upstream)
    )
)
