# An API gateway: routes by host and path to named services, balances each service over its backends, adds headers
# both ways, answers 404 (JSON) when no route matches, and writes one access-log line per request to stdout.
# Everything it does comes from config.yaml; `kill -HUP <pid>` reloads it. See README.md.
import json
import os
import re
import sys
import time
import uuid

import yaml

from pipyx import pipy, Message, ResponseHead, ctx, algo

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG_FILE = os.environ.get('CONFIG', os.path.join(HERE, 'config.yaml'))

BALANCERS = {'round-robin': algo.RoundRobinLoadBalancer, 'least-work': algo.LeastWorkLoadBalancer}
DEFAULT_TIMEOUT = 60.0          # seconds an upstream may take to start answering before the client gets 504
DEFAULT_CONNECT_TIMEOUT = 5.0   # seconds to open a connection to an upstream (504 after)


class ConfigError(ValueError):
    def __init__(self, message):
        super().__init__('%s: %s' % (CONFIG_FILE, message))


# -- The configuration, read and checked once per load (and per reload) ------------------------------------------------

def read_config(path):
    with open(path) as f:
        config = json.load(f) if path.endswith('.json') else yaml.safe_load(f)
    if not isinstance(config, dict):
        raise ConfigError('expected a mapping at the top level')
    return config


def listen_address(config):
    """`listen` is a port or 'addr:port'; the PORT environment variable replaces the port."""
    listen = str(config.get('listen', 8000))
    addr, _, port = listen.rpartition(':')
    port = os.environ.get('PORT', port)
    return '%s:%s' % (addr, port) if addr else int(port)


class Service:
    def __init__(self, name, spec):
        # Long form: {algorithm: ..., targets: ...}; short form: the targets alone.
        if isinstance(spec, dict) and 'targets' in spec:
            algorithm, targets = spec.get('algorithm', 'round-robin'), spec['targets']
        else:
            algorithm, targets = 'round-robin', spec
        if algorithm not in BALANCERS:
            raise ConfigError('service %r: algorithm must be one of %s, not %r'
                              % (name, ', '.join(BALANCERS), algorithm))
        if isinstance(targets, str):
            targets = [targets]
        if not isinstance(targets, (list, dict)) or not targets:
            raise ConfigError('service %r: targets must be a non-empty list of host:port, or a map of host:port: '
                              'weight' % name)
        for target in targets:
            host, _, port = str(target).rpartition(':')
            if not host or not port.isdigit():
                raise ConfigError('service %r: target %r is not host:port' % (name, target))
        try:
            self.balancer = BALANCERS[algorithm](targets)
        except ValueError as e:
            raise ConfigError('service %r: %s' % (name, e))
        self.name = name


class Route:
    def __init__(self, pattern, spec, services, defaults):
        if not isinstance(spec, dict):
            spec = {'service': spec}               # short form: pattern: service-name
        unknown = set(spec) - {'service', 'strip_prefix', 'timeout'}
        if unknown:
            raise ConfigError('route %r: unknown option(s) %s' % (pattern, ', '.join(sorted(unknown))))
        name = spec.get('service')
        if name not in services:
            raise ConfigError('route %r goes to unknown service %r' % (pattern, name))
        self.pattern = pattern
        self.service = services[name]
        self.timeout = float(spec.get('timeout', defaults['timeout']))
        strip = spec.get('strip_prefix')
        if strip is True:                          # true: the route's own path prefix, '/api/*' -> '/api'
            slash = pattern.find('/')
            strip = pattern[slash:].rstrip('*').rstrip('/') if slash >= 0 else ''
        if strip and not str(strip).startswith('/'):
            raise ConfigError('route %r: strip_prefix must start with /' % pattern)
        self.strip = str(strip).rstrip('/') if strip else ''

    def rewrite(self, path):
        """The path the service sees: without the prefix, and never empty ('/api?q=1' -> '/?q=1')."""
        if self.strip and path.startswith(self.strip):
            rest = path[len(self.strip):]
            if not rest or rest[0] in '/?':
                return rest if rest.startswith('/') else '/' + rest
        return path


# Header values may use these variables: '$forwarded_for' or '${forwarded_for}'.
VARIABLES = {
    'remote_addr': lambda r: r.remote,
    'forwarded_for': lambda r: '%s, %s' % (r.forwarded_for, r.remote) if r.forwarded_for else r.remote,
    'request_id': lambda r: r.request_id,
    'host': lambda r: r.host,
    'method': lambda r: r.method,
    'path': lambda r: r.path,
    'service': lambda r: r.route.service.name if r.route else '',
    'upstream': lambda r: r.upstream or '',
}
VARIABLE = re.compile(r'\$(?:(\w+)|\{(\w+)\})')


def header_rules(spec, where):
    """[(name, fn(request) -> value, or None to remove the header)] from a map of header: template."""
    rules = []
    for name, template in (spec or {}).items():
        if template is None:
            rules.append((name.lower(), None))
            continue
        template = str(template)
        for m in VARIABLE.finditer(template):
            if (m.group(1) or m.group(2)) not in VARIABLES:
                raise ConfigError('headers.%s.%s: unknown variable $%s (known: %s)'
                                  % (where, name, m.group(1) or m.group(2), ', '.join(sorted(VARIABLES))))
        if VARIABLE.search(template):
            fn = (lambda t: lambda r: VARIABLE.sub(lambda m: VARIABLES[m.group(1) or m.group(2)](r), t))(template)
        else:
            fn = (lambda t: lambda r: t)(template)
        rules.append((name.lower(), fn))
    return rules


def apply_headers(headers, rules, request):
    for name, fn in rules:
        if fn is None:
            headers.pop(name, None)
        else:
            value = fn(request)
            if value:                             # an empty value ($upstream of a 404) sets nothing
                headers[name] = value


config = read_config(CONFIG_FILE)
listen = listen_address(config)
defaults = {'timeout': float(config.get('timeout', DEFAULT_TIMEOUT))}
connect_timeout = float(config.get('connect_timeout', DEFAULT_CONNECT_TIMEOUT))
services = {name: Service(name, spec) for name, spec in (config.get('services') or {}).items()}
routes = [Route(pattern, spec, services, defaults) for pattern, spec in (config.get('routes') or {}).items()]
router = algo.URLRouter()
for route in routes:
    try:
        router.add(route.pattern, route)
    except ValueError as e:
        raise ConfigError(e)
request_headers = header_rules((config.get('headers') or {}).get('request'), 'request')
response_headers = header_rules((config.get('headers') or {}).get('response'), 'response')


# -- Per request ---------------------------------------------------------------------------------------------------

class Request:
    """What the gateway knows about one request, from its head to the end of its stream."""
    __slots__ = ('started', 'remote', 'method', 'path', 'host', 'forwarded_for', 'request_id', 'route', 'allocation',
                 'upstream', 'status', 'error', 'reply')

    def __init__(self, head, remote):
        headers = head.headers
        self.started = time.monotonic()
        self.remote = remote
        self.method = head.method
        self.path = head.path
        self.host = headers.get('host', '')
        self.forwarded_for = headers.get('x-forwarded-for', '')
        self.request_id = headers.get('x-request-id') or uuid.uuid4().hex
        self.route = self.allocation = self.upstream = self.status = self.error = self.reply = None


def on_request(start):
    head = start.head
    req = Request(head, ctx.inbound.remote_address if ctx.inbound else '-')
    ctx.req = req
    ctx.inflight.append(req)
    req.route = route = router.find(req.host, req.path)
    if route is None:
        req.reply = (404, {'error': 'no route', 'method': req.method, 'path': req.path, 'host': req.host})
        return
    req.allocation = route.service.balancer.allocate()
    if req.allocation is None:                    # every target of the service has weight 0
        req.reply = (503, {'error': 'no upstream available', 'service': route.service.name})
        return
    req.upstream = req.allocation.target
    head.path = route.rewrite(head.path)
    apply_headers(head.headers, request_headers, req)


def local_reply(request):
    """The gateway's own answer (404, 503) as JSON; the request body, if any, is dropped."""
    status, doc = ctx.req.reply
    doc['request_id'] = ctx.req.request_id
    return Message(ResponseHead(status, {'content-type': 'application/json'}), json.dumps(doc) + '\n')


def on_response(start):
    req = ctx.req
    req.status = start.head.status
    apply_headers(start.head.headers, response_headers, req)


def on_failure(end):
    if end.error:                                 # demux_http turns this into 502 or 504
        ctx.req.error = end.error


TIMEOUT_STATUS = {'ConnectionTimeout': 504, 'ReadTimeout': 504, 'WriteTimeout': 504, 'IdleTimeout': 504,
                  'RuntimeError': 500}


def on_done(end):
    # demux_http ends each request's stream once its response is out (or failed). Requests of one connection are
    # finished in the order they came, so a client that pipelines still frees every allocation exactly once.
    if not ctx.inflight:
        return
    req = ctx.inflight.pop(0)
    if req is ctx.req:
        ctx.req = None
    if req.allocation is not None:
        req.allocation.free()
    status = req.status or (req.reply[0] if req.reply else TIMEOUT_STATUS.get(req.error, 502))
    print('%s %s %s %s %d %s %s %dms %s%s' % (
        time.strftime('%Y-%m-%dT%H:%M:%S'), req.remote, req.method, req.path, status,
        req.route.service.name if req.route else '-', req.upstream or '-',
        (time.monotonic() - req.started) * 1000, req.request_id, ' ' + req.error if req.error else ''),
        file=sys.stdout, flush=True)


# -- Pipelines -----------------------------------------------------------------------------------------------------

# connect()'s read_timeout is fixed per filter, so each distinct route timeout gets its own forwarding pipeline.
timeouts = sorted({route.timeout for route in routes} | {defaults['timeout']})


def forward_name(timeout):
    return 'forward-%gs' % timeout


app = pipy(req=None, inflight=[])

conditions = [lambda: ctx.req.reply is not None, 'reply']
for t in timeouts:
    if t != defaults['timeout']:
        conditions += [(lambda t: lambda: ctx.req.route.timeout == t)(t), forward_name(t)]

(app.listen(listen)
    .demux_http().to(lambda p: p
        .handle_message_start(on_request)    # route, balance, rewrite the request head
        .handle_stream_end(on_done)          # the request is over: free its upstream, log it
        .branch(*conditions, forward_name(defaults['timeout']))
        .handle_message_start(on_response)   # the response head: status, headers
        .handle_stream_end(on_failure)       # no response: the upstream was down, or too slow
    )
)

for t in timeouts:
    (app.pipeline(forward_name(t))
        .mux_http().to((lambda t: lambda p: p
            .connect(lambda: ctx.req.upstream, connect_timeout=connect_timeout, read_timeout=t))(t))
    )

app.pipeline('reply').replace_message(local_reply)
