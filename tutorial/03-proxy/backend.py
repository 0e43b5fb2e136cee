# A tiny backend for steps 3 to 7: one pipyx script serving several ports, each answering with its own name.
# BACKEND_PORTS lists the ports (default 8081,8082).
import os

from pipyx import pipy, Message

ports = [int(p) for p in os.environ.get('BACKEND_PORTS', '8081,8082').split(',') if p.strip()]


def answer_from(port):
    def handler(req):
        return Message({'status': 200, 'headers': {'content-type': 'text/plain', 'x-backend': str(port)}},
                       'backend %d: %s %s\n' % (port, req.head.method, req.head.path))
    return handler


app = pipy()
for p in ports:
    app.listen(p).serve_http(answer_from(p))
