import os
from pipyx import pipy
target = os.environ.get('TARGET', '127.0.0.1:8081')
pipy().listen(int(os.environ.get('PORT', 8443))).accept_tls(
    certificate={'cert': os.environ['CERT'], 'key': os.environ['KEY']}).to(
    lambda p: p.demux_http().to(lambda p: p.mux_http().to(lambda p: p.connect(target))))
