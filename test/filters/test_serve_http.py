"""serve_http as an HTTP/1.1 server, against real clients: raw sockets (exact bytes), http.client and curl.

A test parametrised by SERVERS runs against serve_http and against demux_http followed by replace_message, which
must answer the same. One pipyx process (serve_http_support.py) serves the whole module.
"""
import http.client
import json
import shutil
import socket
import subprocess
import time

import pytest

from test.filters.serve_http_support import SERVERS, SMALL, assert_works, server, srv  # noqa: F401  (fixtures)
from test.helpers import FAST_STOP, RawClient, free_port, lacks, req, simple_request, wait_for, wait_port


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


# ---------------------------------------------------------------------------------------------------- handler errors

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


def test_serve_http_given_messages_says_so_instead_of_never_answering(run_pipyx):
    # serve_http reads bytes; under demux_http it gets messages. The client gets a 500 and the log names the line.
    port = free_port()
    p = run_pipyx("from pipyx import pipy\n"
                  "pipy().listen('127.0.0.1:%d').demux_http().to(lambda p: p.serve_http(lambda r: 'hi'))\n" % port,
                  port=port, args=FAST_STOP)
    assert simple_request(port, '/', timeout=5).status == 500
    assert wait_for(lambda: 'reads HTTP requests as bytes' in p.log() and 'main-0.py:2' in p.log(), 3), p.log()
