import os
from pipyx import pipy
target = os.environ.get('TARGET', '127.0.0.1:8443')
# verify=False as nginx's proxy_ssl_verify off: the bench's certificate is self-signed; the work is the same.
pipy().listen(int(os.environ.get('PORT', 8080))).demux_http().to(
    lambda p: p.mux_http().to(lambda p: p.connect_tls(verify=False, sni='localhost').to(lambda p: p.connect(target))))
