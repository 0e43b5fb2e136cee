"""mux_http: requests carried upstream and answers back, through demux_http -> mux_http -> connect in front of
test/helpers/backend_app.py, with real clients; pooled upstream connections; an upstream that fails.
"""
import http.client
import json
import re
import socket
import subprocess
import threading
import time

import pytest

from test.filters.proxy_support import proxy, setup  # noqa: F401  (fixtures)
from test.helpers import (FAST_STOP, RawClient, backend_stats, big_pattern, echo_of, free_port, json_of, lacks,
                          no_traceback, req, simple_request)


def test_get_through_proxy(proxy):
    d = echo_of(simple_request(proxy.p_main, '/echo?q=1'))
    assert d['method'] == 'GET' and d['path'] == '/echo?q=1' and d['body'] == ''


@pytest.mark.parametrize('method', ['POST', 'PUT', 'PATCH', 'DELETE'])
def test_methods_with_body(proxy, method):
    body = ('%s body \u00e9' % method).encode('utf-8')
    r = simple_request(proxy.p_main, '/echo', method, body=body)
    d = echo_of(r)
    assert d['method'] == method and d['body'].encode('utf-8') == body


def test_post_without_body_has_zero_length(proxy):
    d = echo_of(simple_request(proxy.p_main, '/echo', 'POST', headers={'Content-Length': '0'}))
    assert d['method'] == 'POST' and d['body'] == ''


@pytest.mark.parametrize('size', [16 * 1024 + 1, 300000])
def test_large_request_body(proxy, size):
    body = (b'0123456789abcdef' * (size // 16 + 1))[:size]
    d = echo_of(simple_request(proxy.p_main, '/echo', 'POST', body=body, timeout=10))
    assert len(d['body']) == size and d['body'].encode() == body


def test_large_request_keeps_its_content_length(proxy):
    # Upstreams that refuse chunked uploads still get a big body the way the client framed it.
    body = b'x' * 200000
    with RawClient(proxy.p_main) as c:
        c.send(req('/echo', 'POST', [('Content-Length', str(len(body)))]))
        for i in range(0, len(body), 50000):
            c.send(body[i:i + 50000])
        d = echo_of(c.read_response())
    assert d['hmap'].get('content-length') == [str(len(body))]
    assert 'transfer-encoding' not in d['hmap']
    assert d['body'].encode() == body


def test_chunked_request_body_relayed(proxy):
    parts = [b'alpha-', b'beta-' * 1000, b'gamma']
    enc = b''.join(b'%x\r\n%s\r\n' % (len(p), p) for p in parts) + b'0\r\n\r\n'
    with RawClient(proxy.p_main) as c:
        c.send(req('/echo', 'POST', [('Transfer-Encoding', 'chunked')]))
        for i in range(0, len(enc), 1000):
            c.send(enc[i:i + 1000])
            time.sleep(0.002)
        d = echo_of(c.read_response())
    assert d['body'].encode() == b''.join(parts)


def test_headers_pass_and_hop_by_hop_dropped(proxy):
    d = echo_of(simple_request(proxy.p_main, '/echo', headers={
        'X-Custom': 'custom value', 'X-Multi': 'a, b', 'User-Agent': 'pipyx-test/1',
        'Connection': 'keep-alive', 'Keep-Alive': 'timeout=5', 'Proxy-Connection': 'keep-alive',
        'TE': 'trailers'}))
    h = d['hmap']
    assert h['x-custom'] == ['custom value']
    assert h['x-multi'] == ['a, b']
    assert h['user-agent'] == ['pipyx-test/1']
    assert h.get('host') == ['localhost']
    for hop in ('keep-alive', 'proxy-connection', 'te'):
        assert hop not in h, 'hop-by-hop %s forwarded' % hop
    assert 'close' not in ' '.join(h.get('connection', [])).lower()


def test_headers_named_by_connection_not_forwarded(proxy):
    # RFC 9110 7.6.1: fields listed in Connection are hop-by-hop; a proxy removes them.
    d = echo_of(simple_request(proxy.p_main, '/echo', headers={'Connection': 'x-hop', 'X-Hop': 'secret',
                                                              'X-Keep': 'kept'}))
    assert d['hmap'].get('x-keep') == ['kept']
    assert 'x-hop' not in d['hmap'], 'a field named in Connection was forwarded'


def test_client_connection_close_does_not_close_upstream(proxy):
    first = json.loads(simple_request(proxy.p_pool, '/conn', headers={'Connection': 'close'}).body)
    second = json.loads(simple_request(proxy.p_pool, '/conn').body)
    assert second['conn'] == first['conn'], 'client Connection: close leaked upstream'


def test_response_headers_relayed(proxy):
    r = simple_request(proxy.p_main, '/echo')
    assert r.header('x-backend') == 'yes'
    assert r.header('content-type') == 'application/json'


@pytest.mark.parametrize('status', [201, 404, 500, 503])
def test_status_relayed(proxy, status):
    r = simple_request(proxy.p_main, '/status/%d' % status)
    assert r.status == status and r.body == b'status %d\n' % status


@pytest.mark.parametrize('status', [204, 304])
def test_bodiless_status_relayed(proxy, status):
    with RawClient(proxy.p_main) as c:
        c.send(req('/status/%d' % status) + req('/conn'))
        r = c.read_response()
        assert r.status == status and not r.chunked
        nxt = c.read_response()
        assert nxt.raw_head.startswith(b'HTTP/1.1 200') and b'"conn"' in nxt.body


def test_chunked_upstream_response_relayed(proxy):
    with RawClient(proxy.p_main) as c:
        c.send(req('/chunked/500'))
        r = c.read_response()
    assert r.status == 200
    assert r.body == b''.join(b'chunk-%d\n' % i for i in range(500))


def test_big_response_intact(proxy):
    size = 5 * 1024 * 1024 + 7
    conn = http.client.HTTPConnection('127.0.0.1', proxy.p_main, timeout=15)
    try:
        conn.request('GET', '/big/%d' % size)
        r = conn.getresponse()
        body = r.read()
        assert r.status == 200
    finally:
        conn.close()
    assert len(body) == size
    assert body == big_pattern(0, size)


@pytest.mark.skipif(lacks('curl'), reason='curl is not installed')
def test_big_response_curl(proxy):
    size = 2 * 1024 * 1024
    out = subprocess.run(['curl', '-sS', '--max-time', '15', 'http://127.0.0.1:%d/big/%d' % (proxy.p_main, size)],
                         capture_output=True, timeout=20)
    assert out.returncode == 0, out.stderr
    assert out.stdout == big_pattern(0, size)


def test_response_framed_by_close_relayed(proxy):
    size = 300000
    with RawClient(proxy.p_main) as c:
        c.send(req('/eof/%d' % size))
        r = c.read_response()
        assert r.status == 200 and r.body == big_pattern(0, size)
        c.send(req('/echo?after-eof'))           # the client connection goes on (the body had framing)
        assert echo_of(c.read_response())['path'] == '/echo?after-eof'


def test_upstream_connection_close_not_reused(proxy):
    with RawClient(proxy.p_pool) as c:
        c.send(req('/conn'))
        before = json.loads(c.read_response().body)
        c.send(req('/close-after'))
        r = c.read_response()
        assert r.status == 200 and r.body == b'bye'
        assert 'close' not in (r.header('connection') or '').lower(), 'upstream Connection: close relayed'
        c.send(req('/conn'))
        after = json.loads(c.read_response().body)
    assert after['conn'] != before['conn'] and after['requests'] == 1


def test_client_gone_mid_request_upstream_session_not_reused(proxy):
    # A client that leaves while its request is at the upstream must not leave the late answer in the pool.
    for i in range(3):
        s = socket.create_connection(('127.0.0.1', proxy.p_pool), timeout=5)
        s.sendall(req('/slow/300'))
        time.sleep(0.05)
        s.close()
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        r = simple_request(proxy.p_pool, '/conn')
        assert r.status == 200 and r.body.startswith(b'{"conn"'), r.body
        time.sleep(0.05)


@pytest.mark.skipif(lacks('curl'), reason='curl is not installed')
def test_expect_continue_through_proxy(proxy, tmp_path):
    f = tmp_path / 'body'
    f.write_bytes(b'e' * 100000)
    t = time.monotonic()
    out = subprocess.run(['curl', '-sS', '-v', '--max-time', '10', '--expect100-timeout', '5', '-H',
                          'Expect: 100-continue', '--data-binary', '@%s' % f,
                          'http://127.0.0.1:%d/echo' % proxy.p_main], capture_output=True, timeout=15)
    assert out.returncode == 0, out.stderr
    assert b'100 Continue' in out.stderr
    assert time.monotonic() - t < 3
    assert json.loads(out.stdout)['body'] == 'e' * 100000


def test_head_through_proxy(proxy):
    with RawClient(proxy.p_main) as c:
        c.send(req('/head-test', 'HEAD') + req('/head-test'))
        h = c.read_response(head_request=True)
        assert h.status == 200 and h.header('content-length') == '15'
        g = c.read_response()
        assert g.raw_head.startswith(b'HTTP/1.1 200'), 'bytes after the HEAD response'
        assert g.body == b'head-test body\n'


def test_head_of_chunked_through_proxy(proxy):
    with RawClient(proxy.p_main) as c:
        c.send(req('/chunked/5', 'HEAD') + req('/head-test'))
        h = c.read_response(head_request=True)
        assert h.status == 200
        g = c.read_response()
        assert g.raw_head.startswith(b'HTTP/1.1 200') and g.body == b'head-test body\n'


def test_head_of_big_through_proxy(proxy):
    with RawClient(proxy.p_main) as c:
        c.send(req('/big/100000', 'HEAD') + req('/head-test'))
        h = c.read_response(head_request=True)
        assert h.status == 200 and h.header('content-length') == '100000' and not h.chunked
        g = c.read_response()
        assert g.raw_head.startswith(b'HTTP/1.1 200') and g.body == b'head-test body\n'


def test_keep_alive_and_pipelining_through_proxy(proxy):
    paths = ['/slow/200', '/echo?n=1', '/chunked/3', '/slow/50', '/status/404', '/echo?n=2']
    with RawClient(proxy.p_main) as c:
        c.send(b''.join(req(p) for p in paths))
        rs = [c.read_response() for _ in paths]
        assert [r.status for r in rs] == [200, 200, 200, 200, 404, 200]
        assert rs[0].body == b'slow' and rs[3].body == b'slow'
        assert echo_of(rs[1])['path'] == '/echo?n=1' and echo_of(rs[5])['path'] == '/echo?n=2'
        assert rs[2].body == b'chunk-0\nchunk-1\nchunk-2\n'
        for i in range(5):                     # and the client connection goes on
            c.send(req('/echo?k=%d' % i))
            assert echo_of(c.read_response())['path'] == '/echo?k=%d' % i


def test_http10_client_through_proxy(proxy):
    with RawClient(proxy.p_main) as c:
        c.send(req('/echo', version='HTTP/1.0'))
        r = c.read_response()
        d = echo_of(r)
        assert d['version'] == 'HTTP/1.1'       # upstream requests are HTTP/1.1 keep-alive
        assert c.is_closed()


def test_http10_client_chunked_upstream(proxy):
    # The upstream answers chunked; an HTTP/1.0 client cannot read chunked framing.
    with RawClient(proxy.p_main) as c:
        c.send(req('/chunked/5000', version='HTTP/1.0'))
        version, status, reason, headers, raw = c.read_head()
        hm = dict(headers)
        assert 'chunked' not in hm.get('transfer-encoding', ''), 'chunked response sent to an HTTP/1.0 client'
        body = c._read_exact(int(hm['content-length'])) if 'content-length' in hm else c.read_to_close()
    assert body == b''.join(b'chunk-%d\n' % i for i in range(5000))


# ----------------------------------------------------------------------------------------------------------- pooling

def test_pool_reuses_upstream_connection(proxy):
    seen = []
    for i in range(3):
        with RawClient(proxy.p_pool) as c:      # a new client connection each time
            c.send(req('/conn'))
            seen.append(json.loads(c.read_response().body))
    assert seen[0]['conn'] == seen[1]['conn'] == seen[2]['conn'], seen
    assert seen[1]['requests'] == seen[0]['requests'] + 1 and seen[2]['requests'] == seen[0]['requests'] + 2


def test_max_messages_one_new_connection_each_time(proxy):
    seen = []
    for i in range(3):
        with RawClient(proxy.p_once) as c:
            c.send(req('/conn'))
            seen.append(json.loads(c.read_response().body))
    assert len({s['conn'] for s in seen}) == 3, seen
    assert all(s['requests'] == 1 for s in seen), seen


def test_pool_after_upstream_closed_idle_connection(proxy):
    # The upstream closes its side of a pooled connection (/close); the next request must still succeed.
    with RawClient(proxy.p_pool) as c:
        c.send(req('/conn'))
        c.read_response()
    r = simple_request(proxy.p_pool, '/close')
    assert r.status == 502
    time.sleep(0.1)
    for i in range(3):
        assert simple_request(proxy.p_pool, '/conn').status == 200


def test_mux_max_idle_closes_upstream(run_pipyx, backend):
    port = free_port()
    p = run_pipyx('''
        from pipyx import pipy
        pipy().listen('127.0.0.1:%d').demux_http().to(
            lambda p: p.mux_http(max_idle=0.5).to(lambda p: p.connect('127.0.0.1:%d')))
    ''' % (port, backend), port=port, args=FAST_STOP)
    first = json_of(simple_request(port, '/conn'))
    time.sleep(0.2)
    second = json_of(simple_request(port, '/conn'))               # within max_idle: the same upstream connection
    t_idle = time.monotonic()
    assert second == {'conn': first['conn'], 'requests': 2}, (first, second)
    assert first['conn'] in backend_stats(backend)['open']
    took = None
    while time.monotonic() - t_idle < 3.0:
        if first['conn'] not in backend_stats(backend)['open']:
            took = time.monotonic() - t_idle
            break
        time.sleep(0.05)
    print('mux_http max_idle=0.5: the backend saw the idle upstream connection close after %s s' % took)
    assert took is not None, 'the upstream connection is still open 3 s after its last request'
    assert 0.4 <= took <= 1.5, took
    third = json_of(simple_request(port, '/conn'))
    assert third['conn'] != first['conn'] and third['requests'] == 1, third
    no_traceback(p.log())


# ------------------------------------------------------------------------------------------------------------ errors

def test_upstream_closes_without_answer_502(proxy):
    with RawClient(proxy.p_main) as c:
        c.send(req('/close'))
        r = c.read_response()
        assert r.status == 502
        c.send(req('/echo?after'))               # the next request on the same client connection works
        assert echo_of(c.read_response())['path'] == '/echo?after'


def test_upstream_closes_without_answer_post_502(proxy):
    r = simple_request(proxy.p_main, '/close', 'POST', body=b'payload')
    assert r.status == 502


def test_client_disconnect_mid_response_process_unharmed(proxy):
    for i in range(5):
        s = socket.create_connection(('127.0.0.1', proxy.p_main), timeout=5)
        s.sendall(req('/big/%d' % (20 * 1024 * 1024)))
        s.recv(1000)
        s.close()
    d = echo_of(simple_request(proxy.p_main, '/echo'))
    assert d['method'] == 'GET'


def test_concurrent_clients(proxy):
    errors = []

    def worker(n):
        try:
            conn = http.client.HTTPConnection('127.0.0.1', proxy.p_main, timeout=10)
            for i in range(20):
                body = b'w%d-%d' % (n, i)
                conn.request('POST', '/echo', body=body)
                r = conn.getresponse()
                d = json.loads(r.read())
                if r.status != 200 or d['body'].encode() != body:
                    errors.append((n, i, r.status, d))
            conn.close()
        except Exception as e:  # noqa: BLE001 — reported below
            errors.append((n, repr(e)))

    ts = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
    assert not any(t.is_alive() for t in ts)
    assert not errors, errors[:5]


# --------------------------------------------------------------------------------------------------------------- wrk

@pytest.mark.skipif(lacks('wrk'), reason='wrk is not installed (it is only a load smoke test)')
def test_wrk_smoke(proxy):
    out = subprocess.run(['wrk', '-t1', '-c10', '-d2s', 'http://127.0.0.1:%d/echo' % proxy.p_main],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert 'Non-2xx' not in text, text
    assert 'Socket errors' not in text, text
    m = re.search(r'(\d+) requests in', text)
    assert m and int(m.group(1)) > 100, text
