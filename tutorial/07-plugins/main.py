# Step 7: plugins. Each request goes through a list of modules; each module does one job and chains to the next.
import os

from pipyx import pipy

port = int(os.environ.get('PORT', '8000'))

PLUGINS = [
    'plugins/access-log.py',   # logs every request and its answer, adds a response header
    'plugins/token-auth.py',   # answers 401 to requests without the right token
    'proxy.py',                # the last module does the real work: forward to the upstream
]

(pipy()
    .listen(port)
    .demux_http().to(lambda p: p
        .use(PLUGINS, 'request')   # the pipeline named 'request' of each module, in order
    )
)
