# A reverse proxy that compresses the upstream's responses: compress_http with METHOD (gzip or br) at LEVEL.
import os
from pipyx import pipy
target = os.environ.get('TARGET', '127.0.0.1:8081')
method, level = os.environ.get('METHOD', 'gzip'), int(os.environ.get('LEVEL', '1'))
pipy().listen(int(os.environ.get('PORT', 8080))).demux_http().to(lambda p: p
    .mux_http().to(lambda p: p.connect(target))
    .compress_http(method, level=level))
