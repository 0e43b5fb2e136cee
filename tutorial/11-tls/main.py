# Step 11: TLS. Four ports, one script: HTTPS with a certificate per name, mutual TLS, plain HTTP sent on to an
# HTTPS upstream, and TLS passed through untouched, routed by the name the client asks for.
import os

from pipyx import pipy, ctx, Message

here = os.path.dirname(os.path.abspath(__file__))
env = os.environ.get
certs = os.path.abspath(env('CERTS', os.path.join(here, 'certs')))     # made by make-certs.sh
https_port = int(env('HTTPS_PORT', '8443'))
mtls_port = int(env('MTLS_PORT', '8444'))
proxy_port = int(env('PROXY_PORT', '8000'))
passthrough_port = int(env('PASSTHROUGH_PORT', '9443'))
backends = env('BACKENDS', '127.0.0.1:8081,127.0.0.1:8082').split(',')

routes = {'a.example': backends[0], 'b.example': backends[1]}


def pair(name):
    return {'cert': os.path.join(certs, name + '.pem'), 'key': os.path.join(certs, name + '-key.pem')}


def certificate_for(name):
    # Called once per name a client asks for (None: the client named none, as when it connects by address); what
    # it returns is loaded once and kept. None refuses the name: the handshake ends with an alert.
    if name in routes:
        return pair(name)
    if name in (None, 'localhost'):
        return pair('localhost')
    return None


def pick_backend(start):
    ctx.backend = routes.get(ctx.tls.sni, backends[0])


def greet(req):
    return Message('hello, %s\n' % ctx.tls.peer.subject)


def pass_by_name(hello):
    # The ClientHello is read, not answered: the TLS goes on, untouched, to whichever port holds the name.
    ctx.backend = '127.0.0.1:%d' % (mtls_port if hello.sni == 'localhost' else https_port)


app = pipy(backend=None)

# 1. Terminate TLS in front of plain backends: the certificate, and the backend, chosen by name.
(app.listen(https_port)
    .accept_tls(certificate=certificate_for, alpn='http/1.1').to(lambda p: p
        .demux_http().to(lambda p: p
            .handle_message_start(pick_backend)
            .mux_http().to(lambda p: p.connect(lambda: ctx.backend))
        )
    )
)

# 2. Mutual TLS: a client certificate signed by our CA is required, and the script reads who it is.
(app.listen(mtls_port)
    .accept_tls(certificate=pair('localhost'), trusted=os.path.join(certs, 'ca.pem')).to(lambda p: p
        .serve_http(greet)
    )
)

# 3. An HTTPS upstream: plain HTTP in, TLS out, over a keep-alive pool; the upstream's certificate is checked
#    against our CA and the name b.example.
(app.listen(proxy_port)
    .demux_http().to(lambda p: p
        .mux_http().to(lambda p: p
            .connect_tls(trusted=os.path.join(certs, 'ca.pem'), sni='b.example').to(lambda p: p
                .connect('127.0.0.1:%d' % https_port)
            )
        )
    )
)

# 4. TLS passthrough by name: an L4 router that never holds a key.
(app.listen(passthrough_port)
    .handle_tls_client_hello(pass_by_name)
    .connect(lambda: ctx.backend)
)
