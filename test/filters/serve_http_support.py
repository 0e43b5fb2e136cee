"""What the serve_http and demux_http tests share: one pipyx process with several listening ports (serve_http,
demux_http with replace_message, each also with small limits, a constant answer, an async handler) serves a
whole test module; the `server` fixture starts it again if an earlier test killed it."""
import pytest

from test.helpers import ScriptOnPorts, simple_request


SCRIPT = '''
import asyncio
from pipyx import pipy, Message

ALPHA = b'abcdefghijklmnopqrstuvwxyz'


def pattern(n):
    return (ALPHA * (n // 26 + 1))[:n]


async def later(path, ms):
    await asyncio.sleep(ms / 1000.0)
    return Message({{'status': 200, 'headers': {{'x-path': path}}}}, 'async ' + path + '\\n')


def route(req):
    h = req.head
    path = h.path
    if path.startswith('/raise'):
        raise RuntimeError('handler-boom')  # RAISE-HERE
    if path.startswith('/araise'):
        return fail_later()
    if path.startswith('/async/'):
        return later(path, int(path.split('/')[2]))
    if path.startswith('/echo'):
        return Message({{'status': 200, 'headers': {{'x-method': h.method, 'x-path': path,
                                                   'x-protocol': h.protocol}}}}, req.body)
    if path.startswith('/big/'):
        return Message({{'status': 200, 'headers': {{'content-type': 'application/octet-stream'}}}},
                       pattern(int(path[5:])))
    if path.startswith('/status/'):
        return Message({{'status': int(path[8:]), 'headers': {{'x-status': 'yes'}}}}, 'must not be sent')
    if path.startswith('/headers'):
        return Message({{'status': 200, 'headers': {{'content-type': 'application/json'}}}},
                       __import__('json').dumps(dict(h.headers)))
    return Message({{'status': 200, 'headers': {{'x-path': path}}}}, 'path=' + path + '\\n')


async def fail_later():
    await asyncio.sleep(0.01)
    raise RuntimeError('async-boom')  # ARAISE-HERE


async def async_only(req):
    await asyncio.sleep(0.05)
    return Message('x')


pipy().listen('127.0.0.1:{p_serve}').serve_http(route)
pipy().listen('127.0.0.1:{p_small}').serve_http(route, max_body_size=1000, max_header_size=2048,
                                                   max_header_count=20, max_line_size=512)
pipy().listen('127.0.0.1:{p_demux}').demux_http().to(lambda p: p.replace_message(route))
pipy().listen('127.0.0.1:{p_demux_small}').demux_http(max_body_size=1000, max_header_size=2048,
                                                         max_header_count=20, max_line_size=512).to(
    lambda p: p.replace_message(route))
pipy().listen('127.0.0.1:{p_const}').serve_http(Message('Hi, there!\\n'))
pipy().listen('127.0.0.1:{p_async}').serve_http(async_only)
'''


PORT_NAMES = ('p_serve', 'p_small', 'p_demux', 'p_demux_small', 'p_const', 'p_async')


class Server(ScriptOnPorts):
    def __init__(self, tmp):
        super().__init__(tmp, SCRIPT, PORT_NAMES)
        self.raise_line = next(i + 1 for i, ln in enumerate(self.text.splitlines()) if '# RAISE-HERE' in ln)
        self.araise_line = next(i + 1 for i, ln in enumerate(self.text.splitlines()) if '# ARAISE-HERE' in ln)


@pytest.fixture(scope='module')
def srv(tmp_path_factory):
    holder = {'tmp': tmp_path_factory, 'server': None, 'all': []}
    yield holder
    for s in holder['all']:
        s.proc.stop()


@pytest.fixture
def server(srv):
    """The module's server (started again if an earlier test killed it), checked to be still running after the
    test: a test that crashes pipyx fails instead of the ones after it."""
    s = srv['server']
    if s is None or not s.alive():
        s = srv['server'] = Server(str(srv['tmp'].mktemp('http_server')))
        srv['all'].append(s)
    yield s
    assert s.alive(), 'pipyx exited (code %s):\n%s' % (s.proc.proc.returncode, s.proc.log()[-3000:])


SERVERS = ['p_serve', 'p_demux']          # the same routes, answered by serve_http and by demux_http
SMALL = {'p_serve': 'p_small', 'p_demux': 'p_demux_small'}


def assert_works(port):
    """A fresh connection still gets a normal answer (the process is unharmed)."""
    r = simple_request(port, '/after')
    assert r.status == 200 and r.body == b'path=/after\n'
