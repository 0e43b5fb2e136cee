# The fleet's codebase: a small gateway that every worker of the fleet runs, as published to the repo.
#
# /healthz is answered here, with the release and the worker; every other request is routed by path to a service
# (config.json: /api/* to api, the rest to web) and balanced round robin over its backends. Every response carries
# x-release and x-worker, so you can see which release, on which worker, answered.
#
# config.json travels with this file in the codebase: a new release is a new version of both. The worker's own
# environment says what differs per machine: PORT (default: "listen" of config.json) and WORKER_NAME.
import json
import os
import socket

from pipyx import pipy, Message, ResponseHead, ctx, algo

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, 'config.json')) as f:
    config = json.load(f)

release = str(config['release'])
port = int(os.environ.get('PORT', config.get('listen', 8000)))
worker = os.environ.get('WORKER_NAME') or socket.gethostname()

services = {name: algo.RoundRobinLoadBalancer(targets) for name, targets in config['services'].items()}
router = algo.URLRouter()
for pattern, name in config['routes'].items():
    if name not in services:
        raise ValueError('config.json: route %r goes to unknown service %r' % (pattern, name))
    router.add(pattern, services[name])


HEALTH = (200, {'status': 'ok', 'release': release, 'worker': worker})
NO_ROUTE = (404, {'error': 'no route'})


def route(start):
    head = start.head
    ctx.local = None
    if head.path == '/healthz' or head.path.startswith('/healthz?'):
        ctx.local = HEALTH
        return
    service = router.find(head.headers.get('host', ''), head.path)
    ctx.allocation = service.allocate() if service is not None else None
    if ctx.allocation is None:
        ctx.local = NO_ROUTE


def release_allocation(event):
    if ctx.allocation is not None:
        ctx.allocation.free()
        ctx.allocation = None


def local_answer(request):
    # A new message per request, with a ResponseHead (not a dict) so that mark() can add its headers to it.
    status, doc = ctx.local
    return Message(ResponseHead(status, {'content-type': 'application/json'}), json.dumps(doc) + '\n')


def mark(start):
    start.head.headers['x-release'] = release
    start.head.headers['x-worker'] = worker


app = pipy(allocation=None, local=None)

(app.listen(port)
    .demux_http().to(lambda p: p
        .handle_message_start(route)
        .branch(lambda: ctx.local is not None, 'local', 'forward')
        .handle_message_start(mark)          # the response, from either branch, on its way out
    )
)

(app.pipeline('forward')
    .mux_http().to(lambda p: p
        .connect(lambda: ctx.allocation.target)
    )
    .handle_message_end(release_allocation)
    .handle_stream_end(release_allocation)
)

(app.pipeline('local')
    .replace_message(local_answer)
)
