"""serve_http and demux_http as an HTTP/1.1 server, against real clients: raw sockets (exact bytes), http.client and
curl. One pipyx process (several listening ports) serves the whole module."""
import http.client
import json
import os
import shutil
import socket
import subprocess
import textwrap
import time

import pytest

from test.helpers import PipyxProcess, RawClient, free_port, lacks, req, simple_request, wait_for, wait_port

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


class Server:
    def __init__(self, tmp):
        self.ports = {n: free_port() for n in PORT_NAMES}
        self.text = textwrap.dedent(SCRIPT.format(**self.ports))
        self.path = os.path.join(tmp, 'main.py')
        with open(self.path, 'w') as f:
            f.write(self.text)
        self.raise_line = next(i + 1 for i, ln in enumerate(self.text.splitlines()) if '# RAISE-HERE' in ln)
        self.araise_line = next(i + 1 for i, ln in enumerate(self.text.splitlines()) if '# ARAISE-HERE' in ln)
        self.proc = PipyxProcess([self.path], cwd=tmp)
        for p in self.ports.values():
            self.proc.wait_ready(p)

    def __getattr__(self, name):
        if name in PORT_NAMES:
            return self.ports[name]
        raise AttributeError(name)

    def alive(self):
        return self.proc.proc.poll() is None


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


# ---------------------------------------------------------------------------------------------------- basics

@pytest.mark.parametrize('which', SERVERS)
def test_keep_alive_many_requests_one_connection(server, which):
    port = server.ports[which]
    with RawClient(port) as c:
        for i in range(10):
            c.send(req('/k/%d' % i))
            r = c.read_response()
            assert r.status == 200
            assert r.body == b'path=/k/%d\n' % i
            assert r.header('connection') is None or 'close' not in r.header('connection').lower()
        assert c.nothing_pending(0.1)
        assert not c.is_closed(0.2), 'keep-alive connection was closed by the server'


def test_keep_alive_http_client_reuses_socket(server):
    conn = http.client.HTTPConnection('127.0.0.1', server.p_serve, timeout=5)
    try:
        conn.request('GET', '/hc/0')
        r = conn.getresponse()
        assert r.read() == b'path=/hc/0\n'
        sock = conn.sock
        local = sock.getsockname()
        for i in range(1, 5):
            conn.request('POST', '/echo', body=b'body-%d' % i)
            r = conn.getresponse()
            assert r.status == 200 and r.read() == b'body-%d' % i
            assert conn.sock is sock and conn.sock.getsockname() == local, 'http.client had to reconnect'
    finally:
        conn.close()


@pytest.mark.parametrize('which', SERVERS)
def test_pipelined_requests_answered_in_order(server, which):
    port = server.ports[which]
    paths = ['/async/150', '/p/1', '/async/20', '/p/2', '/async/80', '/p/3']
    with RawClient(port) as c:
        c.send(b''.join(req(p) for p in paths))
        for p in paths:
            r = c.read_response()
            assert r.status == 200
            assert r.header('x-path') == p
            assert r.body == (b'async ' if p.startswith('/async') else b'path=') + p.encode() + b'\n'


@pytest.mark.parametrize('which', SERVERS)
def test_pipelined_with_bodies(server, which):
    port = server.ports[which]
    data = (req('/echo', 'POST', [('Content-Length', '5')], b'first') +
            req('/echo', 'POST', [('Transfer-Encoding', 'chunked')], b'3\r\nsec\r\n3\r\nond\r\n0\r\n\r\n') +
            req('/p/x') +
            req('/echo', 'PUT', [('Content-Length', '5')], b'third'))
    with RawClient(port) as c:
        c.send(data)
        bodies = [c.read_response().body for _ in range(4)]
    assert bodies == [b'first', b'second', b'path=/p/x\n', b'third']


def test_pipelined_bytes_split_one_at_a_time(server):
    data = req('/p/a') + req('/echo', 'POST', [('Content-Length', '3')], b'abc') + req('/p/b')
    with RawClient(server.p_serve) as c:
        for i in range(len(data)):
            c.send(data[i:i + 1])
        assert [c.read_response().body for _ in range(3)] == [b'path=/p/a\n', b'abc', b'path=/p/b\n']


def test_many_pipelined_requests(server):
    n = 300
    with RawClient(server.p_serve, timeout=10) as c:
        c.send(b''.join(req('/m/%d' % i) for i in range(n)))
        for i in range(n):
            assert c.read_response().body == b'path=/m/%d\n' % i


def test_request_headers_seen_by_handler(server):
    with RawClient(server.p_serve) as c:
        c.send(b'GET /headers HTTP/1.1\r\nHost: localhost\r\nX-Pad: \t padded value \t\r\n'
               b'X-Rep: one\r\nx-rep: two\r\nX-CaSe: Mixed\r\nX-Empty:\r\n\r\n')
        h = json.loads(c.read_response().body)
    assert h['x-pad'] == 'padded value'
    assert h['x-rep'] == 'one, two'
    assert h['x-case'] == 'Mixed'
    assert h['x-empty'] == ''
    assert h['host'] == 'localhost'


def test_async_handler(server):
    t = time.monotonic()
    r = simple_request(server.p_async, '/')
    assert r.status == 200 and r.body == b'x'
    assert time.monotonic() - t >= 0.04
    with RawClient(server.p_async) as c:       # pipelined: every answer arrives, in order
        c.send(req('/a') * 3)
        assert [c.read_response().body for _ in range(3)] == [b'x', b'x', b'x']


# --------------------------------------------------------------------------------------------------- bodies

@pytest.mark.parametrize('which', SERVERS)
def test_content_length_request_body(server, which):
    body = bytes(range(256)) * 300      # 76800 bytes, binary
    r = simple_request(server.ports[which], '/echo', 'POST', body=body)
    assert r.status == 200 and r.header('x-method') == 'POST'
    assert r.body == body


@pytest.mark.parametrize('which', SERVERS)
def test_chunked_request_body(server, which):
    parts = [b'hello ', b'chunked', b' ' * 3000, b'world']
    enc = b''.join(b'%x;ext=1\r\n%s\r\n' % (len(p), p) for p in parts) + b'0\r\nx-trailer: t\r\n\r\n'
    with RawClient(server.ports[which]) as c:
        c.send(req('/echo', 'POST', [('Transfer-Encoding', 'chunked')]))
        for i in range(0, len(enc), 7):   # sizes, data and CRLFs arrive split anywhere
            c.send(enc[i:i + 7])
        r = c.read_response()
        assert r.status == 200 and r.body == b''.join(parts)
        c.send(req('/p/next'))                       # the connection goes on after the trailers
        assert c.read_response().body == b'path=/p/next\n'


@pytest.mark.parametrize('which', SERVERS)
@pytest.mark.parametrize('size', [10, 16 * 1024, 16 * 1024 + 1, 200000, 3 * 1024 * 1024])
def test_response_bodies_arrive_intact(server, which, size):
    expect = (b'abcdefghijklmnopqrstuvwxyz' * (size // 26 + 1))[:size]
    with RawClient(server.ports[which], timeout=10) as c:
        c.send(req('/big/%d' % size) + req('/p/after'))
        r = c.read_response()
        assert r.status == 200
        assert r.has('content-length') != r.chunked, 'exactly one of Content-Length / chunked: %r' % r.headers
        assert len(r.body) == size and r.body == expect
        assert c.read_response().body == b'path=/p/after\n'


def test_big_response_with_http_client_and_curl(server):
    size = 1000003
    expect = (b'abcdefghijklmnopqrstuvwxyz' * (size // 26 + 1))[:size]
    conn = http.client.HTTPConnection('127.0.0.1', server.p_serve, timeout=10)
    try:
        conn.request('GET', '/big/%d' % size)
        r = conn.getresponse()
        assert r.status == 200 and r.read() == expect
    finally:
        conn.close()
    if shutil.which('curl'):
        out = subprocess.run(['curl', '-sS', '--max-time', '10', 'http://127.0.0.1:%d/big/%d' % (server.p_serve, size)],
                             capture_output=True, timeout=15)
        assert out.returncode == 0, out.stderr
        assert out.stdout == expect


@pytest.mark.parametrize('which', SERVERS + ['p_const'])
def test_head_has_length_and_no_body(server, which):
    port = server.ports[which]
    path = '/' if which == 'p_const' else '/p/h'
    get = simple_request(port, path)
    with RawClient(port) as c:
        c.send(req(path, 'HEAD') + req(path))
        h = c.read_response(head_request=True)
        assert h.status == 200
        assert h.header('content-length') == str(len(get.body))
        g = c.read_response()                 # the next response starts right after the head: no body bytes
        assert g.raw_head.startswith(b'HTTP/1.1 200')
        assert g.body == get.body


def test_head_of_big_response(server):
    with RawClient(server.p_serve) as c:
        c.send(req('/big/100000', 'HEAD') + req('/p/z'))
        h = c.read_response(head_request=True)
        assert h.status == 200
        assert h.header('content-length') == '100000' and not h.chunked
        g = c.read_response()
        assert g.raw_head.startswith(b'HTTP/1.1 200') and g.body == b'path=/p/z\n'


@pytest.mark.parametrize('which', SERVERS)
@pytest.mark.parametrize('status', [204, 304])
def test_bodiless_statuses(server, which, status):
    with RawClient(server.ports[which]) as c:
        c.send(req('/status/%d' % status) + req('/p/next'))
        r = c.read_response()
        assert r.status == status and r.header('x-status') == 'yes'
        assert not r.chunked
        if status == 204:
            assert not r.has('content-length')
        n = c.read_response()
        assert n.raw_head.startswith(b'HTTP/1.1 200'), 'body bytes leaked after %d' % status
        assert n.body == b'path=/p/next\n'


# ------------------------------------------------------------------------------------------ 100-continue

@pytest.mark.parametrize('which', SERVERS)
def test_expect_continue_raw(server, which):
    with RawClient(server.ports[which]) as c:
        c.send(req('/echo', 'POST', [('Content-Length', '11'), ('Expect', '100-continue')]))
        interim = c.read_response(allow_interim=True)      # before any body byte was sent
        assert interim.status == 100
        c.send(b'hello there')
        r = c.read_response()
        assert r.status == 200 and r.body == b'hello there'


def test_expect_continue_chunked_raw(server):
    with RawClient(server.p_serve) as c:
        c.send(req('/echo', 'POST', [('Transfer-Encoding', 'chunked'), ('Expect', '100-continue')]))
        assert c.read_response(allow_interim=True).status == 100
        c.send(b'4\r\nbody\r\n0\r\n\r\n')
        assert c.read_response().body == b'body'


def test_expect_continue_not_sent_for_bodiless_or_http10(server):
    with RawClient(server.p_serve) as c:
        c.send(req('/p/e', headers=[('Expect', '100-continue')]))
        r = c.read_response(allow_interim=True)
        assert r.status == 200 and r.body == b'path=/p/e\n'
    with RawClient(server.p_serve) as c:
        c.send(req('/echo', 'POST', [('Expect', '100-continue'), ('Content-Length', '2')], version='HTTP/1.0'))
        assert c.nothing_pending(0.2), 'an HTTP/1.0 client got a 100 Continue'
        c.send(b'ok')
        r = c.read_response(allow_interim=True)
        assert r.status == 200 and r.body == b'ok'


@pytest.mark.parametrize('which', SERVERS)
def test_expect_continue_too_big_413_without_100(server, which):
    with RawClient(server.ports[SMALL[which]]) as c:
        c.send(req('/echo', 'POST', [('Content-Length', '5000'), ('Expect', '100-continue')]))
        r = c.read_response(allow_interim=True)
        assert r.status == 413, 'expected 413 instead of 100 Continue, got %d' % r.status
        assert c.is_closed()


def test_expect_continue_pipelined_second_waits_its_turn(server):
    # The 100 for the second request may only come after the first response.
    with RawClient(server.p_serve) as c:
        c.send(req('/async/100') + req('/echo', 'POST', [('Content-Length', '2'), ('Expect', '100-continue')]))
        first = c.read_response(allow_interim=True)
        assert first.status == 200 and first.header('x-path') == '/async/100'
        assert c.read_response(allow_interim=True).status == 100
        c.send(b'ok')
        assert c.read_response().body == b'ok'


@pytest.mark.skipif(lacks('curl'), reason='curl is not installed')
@pytest.mark.parametrize('which', SERVERS)
def test_expect_continue_curl(server, which, tmp_path):
    data = tmp_path / 'body.bin'
    payload = b'0123456789' * 5000
    data.write_bytes(payload)
    t = time.monotonic()
    out = subprocess.run(['curl', '-sS', '-v', '--max-time', '10', '--expect100-timeout', '5',
                          '-H', 'Expect: 100-continue', '--data-binary', '@%s' % data,
                          'http://127.0.0.1:%d/echo' % server.ports[which]], capture_output=True, timeout=15)
    took = time.monotonic() - t
    assert out.returncode == 0, out.stderr
    assert b'HTTP/1.1 100 Continue' in out.stderr
    assert out.stdout == payload
    assert took < 3, 'curl waited for its expect100 timeout: no 100 Continue came in time'


# ------------------------------------------------------------------------------- connection management

@pytest.mark.parametrize('which', SERVERS + ['p_const'])
def test_connection_close(server, which):
    with RawClient(server.ports[which]) as c:
        c.send(req('/p/c', headers=[('Connection', 'close')]))
        r = c.read_response()
        assert r.status == 200
        assert 'close' in (r.header('connection') or '').lower()
        assert c.is_closed(), 'server kept the connection open after Connection: close'


def test_connection_close_pipelined_later_requests_ignored(server):
    with RawClient(server.p_serve) as c:
        c.send(req('/p/1') + req('/p/2', headers=[('Connection', 'close')]) + req('/p/3'))
        assert c.read_response().body == b'path=/p/1\n'
        r = c.read_response()
        assert r.body == b'path=/p/2\n' and 'close' in r.header('connection', '').lower()
        assert c.is_closed(), 'a request after Connection: close was answered or the connection stayed open'


@pytest.mark.parametrize('which', SERVERS + ['p_const'])
def test_http10_closes_by_default(server, which):
    with RawClient(server.ports[which]) as c:
        c.send(req('/p/10', version='HTTP/1.0', host=False))
        r = c.read_response()
        assert r.status == 200 and r.body.startswith(b'path=/p/10' if which != 'p_const' else b'Hi')
        assert 'keep-alive' not in (r.header('connection') or '').lower()
        assert c.is_closed(), 'HTTP/1.0 connection without keep-alive stayed open'


@pytest.mark.parametrize('which', SERVERS + ['p_const'])
def test_http10_keep_alive(server, which):
    with RawClient(server.ports[which]) as c:
        for i in range(3):
            c.send(req('/p/ka%d' % i, version='HTTP/1.0', host=False, headers=[('Connection', 'keep-alive')]))
            r = c.read_response()
            assert r.status == 200
            assert r.header('content-length') is not None, 'HTTP/1.0 keep-alive needs Content-Length framing'
            assert (r.header('connection') or '').lower() == 'keep-alive'
        assert not c.is_closed(0.2)


def test_http10_big_response_keep_alive(server):
    # HTTP/1.0 has no chunked encoding: a big body must come with Content-Length, or the connection must close.
    size = 100000
    with RawClient(server.p_serve) as c:
        c.send(req('/big/%d' % size, version='HTTP/1.0', host=False, headers=[('Connection', 'keep-alive')]))
        version, status, reason, headers, raw = c.read_head()
        hm = dict(headers)
        assert 'chunked' not in hm.get('transfer-encoding', ''), 'chunked response sent to an HTTP/1.0 client'
        if 'content-length' in hm:
            body = c._read_exact(int(hm['content-length']))
        else:
            assert 'close' in hm.get('connection', '')
            body = c.read_to_close()
        assert len(body) == size


def test_client_half_close_still_answered(server):
    with RawClient(server.p_serve) as c:
        c.send(req('/async/50') + req('/p/2'))
        c.sock.shutdown(socket.SHUT_WR)
        assert c.read_response().header('x-path') == '/async/50'
        assert c.read_response().body == b'path=/p/2\n'
        assert c.is_closed()


# ---------------------------------------------------------------------------------------------- limits

def assert_rejected(port, data, status, send_split=False):
    with RawClient(port) as c:
        c.send(data)
        r = c.read_response()
        assert r.status == status, (r.status, r.body)
        assert c.is_closed(), 'connection stayed open after %d' % status
    assert_works(port)


@pytest.mark.parametrize('which', SERVERS)
def test_default_limits(server, which):
    port = server.ports[which]
    assert_rejected(port, req('/p', headers=[('X-Big', 'a' * 20000)]), 431)
    assert_rejected(port, req('/p', headers=[('X-H%d' % i, 'v') for i in range(150)]), 431)
    assert_rejected(port, req('/' + 'p' * 10000), 414)
    # just under the defaults is fine
    r = simple_request(port, '/p', headers={'X-Big': 'a' * 12000})
    assert r.status == 200
    r = simple_request(port, '/p', headers={('X-H%d' % i): 'v' for i in range(90)})
    assert r.status == 200


@pytest.mark.parametrize('which', SERVERS)
def test_settable_head_limits(server, which):
    port = server.ports[SMALL[which]]
    assert_rejected(port, req('/p', headers=[('X-Big', 'a' * 3000)]), 431)
    assert_rejected(port, req('/p', headers=[('X-H%d' % i, 'v') for i in range(30)]), 431)
    assert_rejected(port, req('/' + 'p' * 1000), 414)
    assert simple_request(port, '/p', headers={'X-Big': 'a' * 1000}).status == 200
    assert simple_request(port, '/p', headers={('X-H%d' % i): 'v' for i in range(10)}).status == 200
    assert simple_request(port, '/' + 'p' * 400).status == 200


def test_default_max_body_size_is_not_tiny(server):
    body = b'z' * (2 * 1024 * 1024)
    assert simple_request(server.p_serve, '/echo', 'POST', body=body, timeout=10).body == body


@pytest.mark.parametrize('which', SERVERS)
def test_body_limit_content_length(server, which):
    port = server.ports[SMALL[which]]
    with RawClient(port) as c:
        c.send(req('/echo', 'POST', [('Content-Length', '2000')]))     # refused before the body is sent
        r = c.read_response()
        assert r.status == 413
        assert c.is_closed()
    assert simple_request(port, '/echo', 'POST', body=b'q' * 1000).body == b'q' * 1000   # at the limit: fine


@pytest.mark.parametrize('which', SERVERS)
def test_body_limit_chunked(server, which):
    port = server.ports[SMALL[which]]
    chunks = b''.join(b'190\r\n' + b'c' * 400 + b'\r\n' for _ in range(5)) + b'0\r\n\r\n'   # 2000 bytes
    assert_rejected(port, req('/echo', 'POST', [('Transfer-Encoding', 'chunked')], chunks), 413)
    ok = b'190\r\n' + b'c' * 400 + b'\r\n' + b'0\r\n\r\n'
    with RawClient(port) as c:
        c.send(req('/echo', 'POST', [('Transfer-Encoding', 'chunked')], ok))
        assert c.read_response().body == b'c' * 400


# -------------------------------------------------------------------------------------------- smuggling

BAD_REQUESTS = {
    'cl_and_te': req('/echo', 'POST', [('Content-Length', '5'), ('Transfer-Encoding', 'chunked')],
                     b'0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n'),
    'te_and_cl': req('/echo', 'POST', [('Transfer-Encoding', 'chunked'), ('Content-Length', '5')],
                     b'0\r\n\r\n'),
    'two_content_lengths': req('/echo', 'POST', [('Content-Length', '5'), ('Content-Length', '6')], b'hello!'),
    'cl_list': req('/echo', 'POST', [('Content-Length', '5, 6')], b'hello!'),
    'cl_abc': req('/echo', 'POST', [('Content-Length', 'abc')], b'abc'),
    'cl_negative': req('/echo', 'POST', [('Content-Length', '-1')], b'x'),
    'cl_space_inside': req('/echo', 'POST', [('Content-Length', '1 2')], b'x' * 12),
    'cl_plus': req('/echo', 'POST', [('Content-Length', '+5')], b'hello'),
    'cl_hex': req('/echo', 'POST', [('Content-Length', '0x5')], b'hello'),
    'te_gzip': req('/echo', 'POST', [('Transfer-Encoding', 'gzip')], b'hello'),
    'te_chunked_then_gzip': req('/echo', 'POST', [('Transfer-Encoding', 'chunked, gzip')], b'0\r\n\r\n'),
    'te_unknown': req('/echo', 'POST', [('Transfer-Encoding', 'xchunked')], b'0\r\n\r\n'),
    'te_on_http10': req('/echo', 'POST', [('Transfer-Encoding', 'chunked')], b'0\r\n\r\n', version='HTTP/1.0'),
    'nul_in_value': b'GET /p HTTP/1.1\r\nHost: localhost\r\nX-A: a\x00b\r\n\r\n',
    'obs_fold': b'GET /p HTTP/1.1\r\nHost: localhost\r\nX-Folded: a\r\n  b\r\n\r\n',
    'space_before_colon': b'GET /p HTTP/1.1\r\nHost: localhost\r\nContent-Length : 0\r\n\r\n',
    'missing_host': b'GET /p HTTP/1.1\r\nX-A: b\r\n\r\n',
    'two_hosts': b'GET /p HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n',
    'garbage': b'\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n',
    'no_version': b'GET /p\r\nHost: localhost\r\n\r\n',
    'bad_method_char': b'G(T /p HTTP/1.1\r\nHost: localhost\r\n\r\n',
    'space_in_target': b'GET /a b HTTP/1.1\r\nHost: localhost\r\n\r\n',
    'lowercase_version': b'GET /p http/1.1\r\nHost: localhost\r\n\r\n',
    'header_no_colon': b'GET /p HTTP/1.1\r\nHost: localhost\r\nNoColonHere\r\n\r\n',
    'bad_chunk_size': req('/echo', 'POST', [('Transfer-Encoding', 'chunked')], b'zz\r\nhello\r\n0\r\n\r\n'),
    'chunk_missing_crlf': req('/echo', 'POST', [('Transfer-Encoding', 'chunked')], b'5\r\nhelloXX0\r\n\r\n'),
}


@pytest.mark.parametrize('which', SERVERS)
@pytest.mark.parametrize('name', sorted(BAD_REQUESTS))
def test_malformed_request_400_and_closed(server, which, name):
    port = server.ports[which]
    with RawClient(port) as c:
        c.send(BAD_REQUESTS[name])
        r = c.read_response()
        assert r.status == 400, (name, r.status, r.body)
        assert 'close' in (r.header('connection') or '').lower()
        assert c.is_closed(), 'connection stayed open after 400 for %s' % name
    assert_works(port)


@pytest.mark.parametrize('which', SERVERS)
def test_cl_te_does_not_answer_smuggled_request(server, which):
    with RawClient(server.ports[which]) as c:
        c.send(BAD_REQUESTS['cl_and_te'])
        data = c.read_to_close()
    assert data.count(b'HTTP/1.1 ') == 1 and data.startswith(b'HTTP/1.1 400'), data


@pytest.mark.parametrize('which', SERVERS)
def test_http2_request_line_505(server, which):
    assert_rejected(server.ports[which], b'GET /p HTTP/2.0\r\nHost: localhost\r\n\r\n', 505)


@pytest.mark.parametrize('which', SERVERS)
def test_http2_preface_rejected(server, which):
    with RawClient(server.ports[which]) as c:
        c.send(b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')
        r = c.read_response()
        assert r.status in (400, 505)
        assert c.is_closed()
    assert_works(server.ports[which])


@pytest.mark.parametrize('which', SERVERS)
def test_bad_request_after_good_pipelined(server, which):
    # The good request is answered first, then the 400, then the connection closes.
    with RawClient(server.ports[which]) as c:
        c.send(req('/async/50') + b'BROKEN\r\n\r\n')
        a = c.read_response()
        assert a.status == 200 and a.header('x-path') == '/async/50'
        assert c.read_response().status == 400
        assert c.is_closed()


# ------------------------------------------------------------------------------------------ handler errors

def test_handler_exception_500_logged_with_line(server):
    with RawClient(server.p_serve) as c:
        c.send(req('/raise'))
        r = c.read_response()
        assert r.status == 500
    where = 'main.py:%d' % server.raise_line
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and where not in server.proc.log():
        time.sleep(0.05)
    log = server.proc.log()
    assert 'handler-boom' in log, log[-2000:]
    assert where in log, 'no %s in the log:\n%s' % (where, log[-2000:])
    assert_works(server.p_serve)


def test_handler_exception_in_pipeline_others_answered(server):
    with RawClient(server.p_serve) as c:
        c.send(req('/p/1') + req('/raise') + req('/p/3'))
        assert c.read_response().body == b'path=/p/1\n'
        assert c.read_response().status == 500
        # after a 500 the server may close or go on; if it goes on, the third answer is the right one
        try:
            third = c.read_response()
        except EOFError:
            third = None
        if third is not None:
            assert third.body == b'path=/p/3\n'
    assert_works(server.p_serve)


def wait_log(server, text, timeout=3.0):
    wait_for(lambda: text in server.proc.log(), timeout)
    return server.proc.log()


def test_async_handler_exception_500_logged(server):
    with RawClient(server.p_serve) as c:
        c.send(req('/araise') + req('/p/2'))
        assert c.read_response().status == 500
        try:
            second = c.read_response()
        except EOFError:
            second = None
        assert second is None or second.body == b'path=/p/2\n'
    log = wait_log(server, 'async-boom')
    assert 'async-boom' in log, log[-2000:]
    assert 'main.py:%d' % server.araise_line in log, log[-2000:]
    assert_works(server.p_serve)


def test_demux_callback_exception_500(server):
    r = simple_request(server.p_demux, '/raise')
    assert r.status == 500
    assert_works(server.p_demux)


def test_many_connections_process_unharmed(server):
    socks = []
    try:
        for i in range(50):
            s = socket.create_connection(('127.0.0.1', server.p_serve), timeout=5)
            s.sendall(b'GET /half' if i % 2 else b'\x00\xff' * 10)
            socks.append(s)
    finally:
        for s in socks:
            s.close()
    assert_works(server.p_serve)
    assert wait_port(server.p_serve, 2)
