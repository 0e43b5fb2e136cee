# Step 14: a forward proxy. Clients ask for a tunnel with CONNECT host:port; hosts in ALLOW get one, others a 403.
import fnmatch
import os

from pipyx import http_tunnel_target, pipy

port = int(os.environ.get('PORT', '3128'))
allow = os.environ.get('ALLOW', 'localhost,127.0.0.1,*.example.com').split(',')


def allowed(host, port):
    return any(fnmatch.fnmatchcase(host.lower(), glob.strip().lower()) for glob in allow)


(pipy()
    .listen(port)
    .demux_http().to(lambda p: p
        .accept_http_tunnel(allowed).to(lambda p: p     # 200 and a tunnel, or 403
            .connect(http_tunnel_target)                # where the client asked to go
        )
    )
)
