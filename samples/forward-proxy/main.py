# A forward proxy with an allow list: `pipyx samples/forward-proxy/main.py`, then `curl -x localhost:3128 URL`.
# PORT and ALLOW (comma-separated host globs) come from the environment (README.md).
import fnmatch
import os
from urllib.parse import urlsplit

from pipyx import Message, ResponseHead, ctx, http_tunnel_target, pipy

env = os.environ.get
ALLOW = [g.strip().lower() for g in env('ALLOW', '*').split(',') if g.strip()]


def allowed(host):
    return any(fnmatch.fnmatchcase(host.lower(), glob) for glob in ALLOW)


def allow_connect(host, port):
    # CONNECT host:port (https:// and anything else a client tunnels): 200 and a tunnel, or 403.
    return allowed(host)


def plain_request(start):
    # GET http://host[:port]/path HTTP/1.1: the upstream is named in the request line; it gets the path alone.
    head = start.head
    url = urlsplit(head.path)
    if url.scheme != 'http' or not url.hostname:
        ctx.target, ctx.refusal = None, 400
        return
    if not allowed(url.hostname):
        ctx.target, ctx.refusal = None, 403
        return
    port = url.port or 80
    ctx.target = '[%s]:%d' % (url.hostname, port) if ':' in url.hostname else '%s:%d' % (url.hostname, port)
    head.path = (url.path or '/') + ('?' + url.query if url.query else '')
    head.headers['host'] = url.netloc.rsplit('@', 1)[-1]
    head.headers.pop('proxy-authorization', None)


def refusal():
    return Message(ResponseHead(ctx.refusal), {400: 'not a proxy request\n', 403: 'host not allowed\n'}[ctx.refusal])


app = pipy(target=None, refusal=None)

app.listen(int(env('PORT', '3128'))).demux_http().to(lambda p: p.branch_message_start(
    lambda start: start.head.method == 'CONNECT', 'tunnel',
    'forward'))

app.pipeline('tunnel').accept_http_tunnel(allow_connect).to(lambda p: p.connect(http_tunnel_target))

(app.pipeline('forward')
    .handle_message_start(plain_request)
    .branch(lambda: ctx.target is None, lambda p: p.replace_message(lambda m: refusal()),
            lambda p: p.mux_http(session_key=lambda: ctx.target).to(lambda p: p.connect(lambda: ctx.target))))
