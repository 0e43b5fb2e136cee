# An HTTPS front: `CERT=cert.pem KEY=key.pem python3 -m pipyx samples/https/main.py`, then open https://localhost:8443/.
# It serves samples/serve's site, or passes every request to UPSTREAM (over TLS with UPSTREAM_TLS=1); with CLIENT_CA,
# clients must show a certificate signed by it. README.md lists every option.
import os

from pipyx import pipy, ctx

here = os.path.dirname(os.path.abspath(__file__))
env = os.environ.get


def path_of(name):
    # Files named in the environment are the shell's, relative to where pipyx was started (the filters' own
    # relative names are the script's directory's).
    value = env(name)
    return os.path.abspath(value) if value else value


cert, key = path_of('CERT'), path_of('KEY')
if not cert or not key:
    raise SystemExit('samples/https: set CERT and KEY to the PEM files of the certificate (chain) and its key')
upstream = env('UPSTREAM')
client_ca = path_of('CLIENT_CA')


def tell_upstream_who(start):
    # The upstream learns who the client is from the certificate it showed, and nothing a client could forge.
    headers = start.head.headers
    headers.pop('x-client-cert-subject', None)
    peer = ctx.tls.peer
    if peer is not None:
        headers['x-client-cert-subject'] = peer.subject


def site(p):
    return p.serve_files(os.path.join(here, '..', 'serve', 'www'))


def proxy(p):
    def to_upstream(p):
        if env('UPSTREAM_TLS') == '1':
            ca = path_of('UPSTREAM_CA')
            return p.connect_tls(trusted=ca, sni=env('UPSTREAM_NAME')).to(lambda p: p.connect(upstream))
        return p.connect(upstream)
    return p.demux_http().to(lambda p: p.handle_message_start(tell_upstream_who).mux_http().to(to_upstream))


pipy().listen(int(env('PORT', '8443'))).accept_tls(
    certificate={'cert': cert, 'key': key},
    trusted=client_ca,                      # set: a client certificate signed by it is required
    alpn='http/1.1',                        # HTTP/2 is not spoken here (yet)
).to(proxy if upstream else site)
