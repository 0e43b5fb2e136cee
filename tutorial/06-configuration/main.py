# Step 6: configuration. The routes and upstreams of steps 4 and 5 come from a file instead of the code.
import json
import os

import yaml

from pipyx import pipy, Message, ctx, algo

# CONFIG names the file: YAML, or JSON when it ends in .json. The default is config.yaml next to this script.
config_file = os.environ.get('CONFIG', os.path.join(os.path.dirname(__file__), 'config.yaml'))


def read_config(path):
    with open(path) as f:
        return json.load(f) if path.endswith('.json') else yaml.safe_load(f)


config = read_config(config_file)
port = int(os.environ.get('PORT', config.get('listen', 8000)))

# One load balancer per upstream, and a router from URL patterns to those balancers.
balancers = {name: algo.RoundRobinLoadBalancer(servers) for name, servers in config['upstreams'].items()}
router = algo.URLRouter()
for pattern, name in config['routes'].items():
    if name not in balancers:
        raise ValueError('%s: route %r goes to unknown upstream %r' % (config_file, pattern, name))
    router.add(pattern, balancers[name])


def route(start):
    head = start.head
    balancer = router.find(head.headers.get('host', ''), head.path)
    ctx.allocation = balancer.allocate() if balancer is not None else None


def release(event):
    if ctx.allocation is not None:
        ctx.allocation.free()
        ctx.allocation = None


app = pipy(allocation=None)

(app.listen(port)
    .demux_http().to(lambda p: p
        .handle_message_start(route)
        .branch(lambda: ctx.allocation is None, 'not-found', 'forward')
    )
)

(app.pipeline('forward')
    .mux_http().to(lambda p: p
        .connect(lambda: ctx.allocation.target)
    )
    .handle_message_end(release)
    .handle_stream_end(release)
)

(app.pipeline('not-found')
    .replace_message(Message({'status': 404, 'headers': {'content-type': 'text/plain'}}, 'No route\n'))
)
