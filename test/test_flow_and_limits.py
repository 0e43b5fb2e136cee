"""Flow control, timeouts, fault isolation and many connections: pipyx as a real process on 127.0.0.1 in front of
test/helpers/backend_app.py, with RSS read from /proc/PID/status."""
import hashlib
import json
import os
import random
import resource
import socket
import threading
import time

import pytest

from test.helpers import RawClient, big_pattern, free_port, open_fds, req, simple_request, vm_rss_kb

PROXY = '''
from pipyx import pipy
pipy().listen('127.0.0.1:%(port)d').demux_http().to(
    lambda p: p.mux_http().to(lambda p: p.connect('127.0.0.1:%(backend)d')))
'''

RELAY = '''
from pipyx import pipy
pipy().listen('127.0.0.1:%(port)d').connect('127.0.0.1:%(backend)d'%(connect_opts)s)
'''


def json_of(resp):
    assert resp.status == 200, (resp.status, resp.body[:300])
    return json.loads(resp.body)


def backend_stats(backend_port):
    """The backend's own view of its connections, asked directly (not through pipyx)."""
    return json_of(simple_request(backend_port, '/stats', headers={'Connection': 'close'}))


def closed_within(sock, limit):
    """Seconds until the peer closes sock (EOF or reset), or None if it is still open after limit seconds.
    Bytes that arrive meanwhile are an error: the caller expects silence."""
    t0 = time.monotonic()
    deadline = t0 + limit
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            b = sock.recv(65536)
        except socket.timeout:
            return None
        except ConnectionResetError:
            return time.monotonic() - t0
        if not b:
            return time.monotonic() - t0
        raise AssertionError('unexpected bytes while waiting for a close: %r' % b[:200])


def open_files_limit(pid):
    with open('/proc/%d/limits' % pid) as f:
        for line in f:
            if line.startswith('Max open files'):
                soft = line.split()[3]
                return 1 << 30 if soft == 'unlimited' else int(soft)
    return 0


def start(run_pipyx, script, port):
    """pipyx on script, ready on port; a short drain on SIGTERM so that a connection pipyx fails to close does
    not hold up the end of the test."""
    return run_pipyx(script, port=port, args=['--drain-timeout', '1'])


def no_traceback(log):
    assert 'Traceback' not in log, log[-4000:]


# ------------------------------------------------------------------------------------------- flow control

def test_upload_flow_control_bounded_memory(run_pipyx, backend):
    """A 64 MB upload to a backend that reads slowly: pipyx pushes back on the client instead of buffering."""
    port = free_port()
    p = start(run_pipyx, PROXY % {'port': port, 'backend': backend}, port)
    warm = os.urandom(4 << 20)                                  # every code path and buffer used once
    d = json_of(simple_request(port, '/sink', 'POST', body=warm, timeout=10))
    assert d == {'length': len(warm), 'sha256': hashlib.sha256(warm).hexdigest()}
    base = vm_rss_kb(p.pid)

    size = 64_000_000                                           # under demux_http's default max_body_size
    block = os.urandom(1 << 20)
    sent = {'sha': hashlib.sha256(), 'n': 0, 'done_at': None, 'resp': None, 'error': None}
    t_start = time.monotonic()

    def client():
        try:
            with RawClient(port, timeout=20) as c:
                c.send(req('/slow-read/1000/1048576/50', 'POST', [('Content-Length', str(size))]))
                i = 0
                while sent['n'] < size:
                    piece = (i.to_bytes(8, 'big') + block)[:min(len(block), size - sent['n'])]
                    c.sock.sendall(piece)
                    sent['sha'].update(piece)
                    sent['n'] += len(piece)
                    i += 1
                sent['done_at'] = time.monotonic()
                sent['resp'] = c.read_response()
        except Exception as e:  # noqa: BLE001 — reported below
            sent['error'] = repr(e)

    t = threading.Thread(target=client, daemon=True)
    t.start()
    peak = base
    while t.is_alive() and time.monotonic() - t_start < 20:
        peak = max(peak, vm_rss_kb(p.pid))
        time.sleep(0.02)
    t.join(1)
    took = time.monotonic() - t_start
    grew_mb = (peak - base) / 1024.0
    print('upload: 64 MB in %.1fs, client done sending after %.1fs, pipyx RSS grew %.1f MB (base %.1f MB)' % (
        took, (sent['done_at'] or t_start) - t_start, grew_mb, base / 1024.0))
    assert not t.is_alive(), 'upload not finished in 20 s (%d of %d bytes sent)' % (sent['n'], size)
    assert sent['error'] is None, sent['error']
    d = json_of(sent['resp'])
    assert d == {'length': size, 'sha256': sent['sha'].hexdigest()}
    assert grew_mb < 30, 'RSS grew by %.1f MB while a slow backend read a 64 MB upload' % grew_mb
    # The backend needs at least 1 s + 61 ticks of 50 ms: a client done much sooner was not pushed back on.
    assert sent['done_at'] - t_start > 2.5, 'the client sent 64 MB in %.2fs' % (sent['done_at'] - t_start)
    assert p.proc.poll() is None
    no_traceback(p.log())


def test_a_client_that_does_not_read_its_answers_is_not_read_either(run_pipyx):
    """A script that answers what it reads (here: echoes it) and a client that sends 100 MB without reading: pipyx
    stops reading the client while the answers wait, instead of holding all of them."""
    port = free_port()
    p = run_pipyx("from pipyx import pipy\npipy().listen('127.0.0.1:%d').replace_data(lambda d: d)\n" % port,
                  port=port)
    base = vm_rss_kb(p.pid)
    sent = 0
    s = socket.create_connection(('127.0.0.1', port), timeout=5)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.setblocking(False)
    block = b'x' * (1 << 20)
    deadline = time.monotonic() + 3
    while sent < (100 << 20) and time.monotonic() < deadline:
        try:
            sent += s.send(block)
        except BlockingIOError:
            time.sleep(0.01)
    grew_mb = (vm_rss_kb(p.pid) - base) / 1024.0
    assert sent < (100 << 20), 'pipyx read all 100 MB of a client that reads nothing'
    assert grew_mb < 16, 'RSS grew by %.1f MB' % grew_mb
    s.setblocking(True)                 # and once the client reads, the echo catches up with what was sent
    got = 0
    s.shutdown(socket.SHUT_WR)
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        got += len(chunk)
    s.close()
    assert got == sent


def test_download_flow_control_tcp_relay(run_pipyx, backend):
    """A plain TCP relay between a backend writing 64 MB as fast as it can and a client reading slowly."""
    port = free_port()
    p = start(run_pipyx, RELAY % {'port': port, 'backend': backend, 'connect_opts': ''}, port)
    with RawClient(port, timeout=10) as c:                      # warm up
        c.send(req('/big/2000000', headers=[('Connection', 'close')]))
        assert c.read_response().body == big_pattern(0, 2000000)
    base = vm_rss_kb(p.pid)
    size = 64 * 1024 * 1024
    peak = base
    got = 0
    t0 = time.monotonic()
    with RawClient(port, timeout=10, rcvbuf=16384) as c:
        c.send(req('/big/%d' % size, headers=[('Connection', 'close')]))
        version, status, reason, headers, raw = c.read_head()
        assert status == 200 and ('content-length', str(size)) in headers

        def take(chunk):
            nonlocal got
            assert chunk == big_pattern(got, len(chunk)), 'bytes differ at offset %d' % got
            got += len(chunk)

        if c.buf:
            take(c.buf)
            c.buf = b''
        for _ in range(15):                                      # read nothing for 1.5 s
            time.sleep(0.1)
            peak = max(peak, vm_rss_kb(p.pid))
        slow_until = time.monotonic() + 1.5                      # then read slowly
        while time.monotonic() < slow_until:
            chunk = c.sock.recv(8192)
            assert chunk, 'EOF after %d bytes' % got
            take(chunk)
            time.sleep(0.002)
            peak = max(peak, vm_rss_kb(p.pid))
        slow_got = got
        deadline = time.monotonic() + 15                         # then fast
        n = 0
        while got < size and time.monotonic() < deadline:
            chunk = c.sock.recv(1 << 20)
            if not chunk:
                break
            take(chunk)
            n += 1
            if n % 16 == 0:
                peak = max(peak, vm_rss_kb(p.pid))
        c.sock.settimeout(2)
        tail = c.sock.recv(100)                                  # the backend closes after the body
        assert tail == b'', 'bytes after the body: %r' % tail[:100]
    grew_mb = (peak - base) / 1024.0
    print('relay download: %d MB in %.1fs (%.1f MB while reading slowly), pipyx RSS grew %.1f MB' % (
        size >> 20, time.monotonic() - t0, slow_got / 1048576.0, grew_mb))
    assert got == size, 'got %d of %d bytes' % (got, size)
    assert grew_mb < 30, 'RSS grew by %.1f MB while a slow client read 64 MB through a TCP relay' % grew_mb
    no_traceback(p.log())


# ------------------------------------------------------------------------------------------------ timeouts

LISTEN_IDLE = '''
from pipyx import pipy, Message
pipy().listen('127.0.0.1:%(plain)d', idle_timeout=0.5).serve_http(Message('ok'))
pipy().listen('127.0.0.1:%(proxy)d', idle_timeout=0.5).demux_http().to(
    lambda p: p.mux_http().to(lambda p: p.connect('127.0.0.1:%(backend)d')))
'''


@pytest.fixture
def listen_idle(run_pipyx, backend):
    ports = {'plain': free_port(), 'proxy': free_port(), 'backend': backend}
    p = run_pipyx(LISTEN_IDLE % ports, args=['--drain-timeout', '1'])
    p.wait_ready(ports['plain'])
    p.wait_ready(ports['proxy'])
    ports['proc'] = p
    return ports


def test_listen_idle_timeout_closes_idle_connection(listen_idle):
    s = socket.create_connection(('127.0.0.1', listen_idle['plain']), timeout=5)
    try:
        took = closed_within(s, 3.0)
    finally:
        s.close()
    print('listen idle_timeout=0.5: a connection that never sent a byte closed after %s s' % took)
    assert took is not None, 'an idle connection is still open after 3 s'
    assert 0.4 <= took <= 1.5, took


def test_listen_idle_timeout_after_a_request(listen_idle):
    with RawClient(listen_idle['plain']) as c:
        c.send(req('/'))
        assert c.read_response().body == b'ok'
        took = closed_within(c.sock, 3.0)
    assert took is not None and 0.3 <= took <= 1.5, took


def test_listen_idle_timeout_spares_active_connection(listen_idle):
    with RawClient(listen_idle['plain']) as c:
        t_end = time.monotonic() + 2.0
        n = 0
        while time.monotonic() < t_end:
            c.send(req('/'))
            r = c.read_response()
            assert r.status == 200 and r.body == b'ok', r
            n += 1
            time.sleep(0.2)
        assert n >= 8
        c.send(req('/'))                                         # still open after 2 s
        assert c.read_response().body == b'ok'


def test_listen_idle_timeout_spares_connection_receiving_a_response(listen_idle):
    """Traffic to the client is traffic: a response streaming for 2 s must not be cut off after 0.5 s just because
    the client has nothing more to send."""
    with RawClient(listen_idle['proxy'], timeout=5) as c:
        t0 = time.monotonic()
        c.send(req('/drip/10/200'))
        try:
            r = c.read_response()
        except EOFError as e:
            raise AssertionError('connection closed %.2fs into a response that was still streaming: %s' % (
                time.monotonic() - t0, e))
        assert r.status == 200 and r.body == b''.join(b'drip-%d\n' % i for i in range(10))


def test_mux_max_idle_closes_upstream(run_pipyx, backend):
    port = free_port()
    p = start(run_pipyx, '''
        from pipyx import pipy
        pipy().listen('127.0.0.1:%d').demux_http().to(
            lambda p: p.mux_http(max_idle=0.5).to(lambda p: p.connect('127.0.0.1:%d')))
    ''' % (port, backend), port)
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


@pytest.fixture
def idle_relay(run_pipyx, backend):
    port = free_port()
    p = start(run_pipyx, RELAY % {'port': port, 'backend': backend, 'connect_opts': ', idle_timeout=0.5'}, port)
    return port, p


def test_connect_idle_timeout_closes_silent_relay(idle_relay, backend):
    port, p = idle_relay
    with RawClient(port) as c:
        c.send(req('/conn'))
        conn_id = json_of(c.read_response())['conn']
        took = closed_within(c.sock, 3.0)
    print('connect idle_timeout=0.5: the client saw EOF after %s s of silence' % took)
    assert took is not None, 'a silent relayed connection is still open after 3 s'
    assert 0.4 <= took <= 1.5, took
    deadline = time.monotonic() + 2
    while conn_id in backend_stats(backend)['open'] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert conn_id not in backend_stats(backend)['open'], 'the upstream side of the relay was left open'


def test_connect_idle_timeout_spares_active_relay(idle_relay):
    port, p = idle_relay
    with RawClient(port) as c:
        t_end = time.monotonic() + 2.0
        n = 0
        while time.monotonic() < t_end:
            c.send(req('/conn'))
            assert json_of(c.read_response())['requests'] == n + 1
            n += 1
            time.sleep(0.2)
        assert n >= 8


def test_connect_idle_timeout_spares_relay_sending_upstream(idle_relay):
    """Traffic either way counts: a client that keeps sending (here a request head, one line every 0.2 s, that the
    backend reads without answering yet) must not be cut off after idle_timeout."""
    port, p = idle_relay
    with RawClient(port) as c:
        c.send(b'GET /conn HTTP/1.1\r\nHost: localhost\r\n')
        t0 = time.monotonic()
        i = 0
        while time.monotonic() - t0 < 2.0:
            time.sleep(0.2)
            try:
                c.send(b'X-Line-%d: %s\r\n' % (i, b'v' * 10))
            except OSError as e:
                raise AssertionError('relay closed %.2fs into a steady upload: %r' % (time.monotonic() - t0, e))
            i += 1
        c.send(b'\r\n')
        try:
            r = c.read_response()
        except EOFError as e:
            raise AssertionError('relay closed %.2fs into a steady upload: %s' % (time.monotonic() - t0, e))
        assert json_of(r)['requests'] == 1


# --------------------------------------------------------------------------------------------- fault isolation

FAULTS = '''
from pipyx import pipy, ctx


def route(start):
    ctx.boom = start.head.path.startswith('/raise')


def explode(message):
    raise RuntimeError('boom from the handler')


app = pipy(boom=False)
app.listen('127.0.0.1:%(port)d').demux_http().to(
    lambda p: p.handle_message_start(route).branch(lambda: ctx.boom, 'boom', 'forward'))
app.pipeline('forward').mux_http().to(lambda p: p.connect('127.0.0.1:%(backend)d'))
app.pipeline('boom').replace_message(explode)
'''


def test_fault_isolation_under_load(run_pipyx, backend):
    port = free_port()
    p = start(run_pipyx, FAULTS % {'port': port, 'backend': backend}, port)
    t_end = time.monotonic() + 3.0
    errors = []
    counts = {}
    lock = threading.Lock()

    def count(name):
        with lock:
            counts[name] = counts.get(name, 0) + 1

    def valid(n):
        rnd = random.Random(n)
        try:
            with RawClient(port, timeout=10) as c:
                i = 0
                while time.monotonic() < t_end:
                    size = rnd.choice([0, 10, 1000, 20000, 70000])
                    body = (b'%d-%d:' % (n, i) + bytes(rnd.getrandbits(8) for _ in range(64)) * (size // 64 + 1))
                    body = body[:max(size, 8)]
                    c.send(req('/echo?n=%d&i=%d' % (n, i), 'POST', body=body))
                    r = c.read_response()
                    d = json_of(r)
                    if d['path'] != '/echo?n=%d&i=%d' % (n, i) or d['body'] != body.decode('utf-8', 'replace'):
                        errors.append(('wrong answer', n, i, d['path']))
                        return
                    i += 1
                    count('valid')
        except Exception as e:  # noqa: BLE001 — reported below
            errors.append(('valid', n, repr(e)))

    def garbage(n):
        rnd = random.Random(1000 + n)
        while time.monotonic() < t_end:
            try:
                with socket.create_connection(('127.0.0.1', port), timeout=2) as s:
                    kind = rnd.randrange(3)
                    if kind == 0:
                        s.sendall(bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(1, 3000))))
                        s.shutdown(socket.SHUT_WR)
                    elif kind == 1:
                        s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n')
                    else:
                        s.sendall(b'POST /echo HTTP/1.1\r\nContent-Length: -5\r\n\r\n')
                    answer = s.recv(4096)
                    if kind and not answer.startswith(b'HTTP/1.1 400 '):
                        errors.append(('malformed request answered', answer[:100]))
                        return
                count('garbage')
            except OSError:
                pass

    def half(n):
        rnd = random.Random(2000 + n)
        while time.monotonic() < t_end:
            try:
                s = socket.create_connection(('127.0.0.1', port), timeout=2)
                kind = rnd.randrange(4)
                if kind == 0:                                    # half a head
                    s.sendall(b'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Le')
                elif kind == 1:                                  # a body that stops mid-way
                    s.sendall(req('/echo', 'POST', [('Content-Length', '100000')]) + b'z' * 30000)
                elif kind == 2:                                  # a chunked body that stops mid-chunk
                    s.sendall(req('/echo', 'POST', [('Transfer-Encoding', 'chunked')]) + b'1000\r\n' + b'q' * 100)
                else:                                            # a big response the client walks away from
                    s.sendall(req('/big/5000000'))
                    s.recv(1000)
                time.sleep(rnd.random() * 0.05)
                if rnd.random() < 0.5:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\x01\x00\x00\x00\x00\x00\x00\x00')
                s.close()                                        # (half of them with a reset)
                count('half')
            except OSError:
                pass

    def raising(n):
        try:
            with RawClient(port, timeout=3) as c:
                while time.monotonic() < t_end:
                    c.send(req('/raise/%d' % n))
                    r = c.read_response()
                    if r.status != 500:
                        errors.append(('raise', n, r.status))
                        return
                    c.send(req('/echo', 'POST', body=b'after-raise'))   # the same connection still works
                    if json_of(c.read_response())['body'] != 'after-raise':
                        errors.append(('after raise', n))
                        return
                    count('raise')
                    time.sleep(0.02)
        except Exception as e:  # noqa: BLE001 — reported below
            errors.append(('raise', n, repr(e)))

    threads = [threading.Thread(target=valid, args=(n,), daemon=True) for n in range(20)]
    threads += [threading.Thread(target=garbage, args=(n,), daemon=True) for n in range(3)]
    threads += [threading.Thread(target=half, args=(n,), daemon=True) for n in range(3)]
    threads += [threading.Thread(target=raising, args=(n,), daemon=True) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.1, t_end + 12 - time.monotonic()))
    print('fault isolation: %s' % counts)
    assert not any(t.is_alive() for t in threads), 'client threads still running 12 s after the end'
    assert not errors, errors[:10]
    assert counts.get('valid', 0) >= 20 * 5, counts
    assert counts.get('garbage', 0) >= 30 and counts.get('half', 0) >= 10 and counts.get('raise', 0) >= 5, counts
    assert p.proc.poll() is None, 'pipyx exited:\n' + p.log()[-3000:]
    assert json_of(simple_request(port, '/echo'))['method'] == 'GET'
    log = p.log()
    no_traceback(log)
    assert 'boom from the handler' in log and 'main-0.py:' in log, log[-3000:]


def test_error_in_filter_before_mux_http_answers_500(run_pipyx, backend):
    """A callback that raises in front of mux_http ends that request's stream with RuntimeError: the client gets a
    500 and keeps its connection, as it does when the callback is in front of any other filter."""
    port = free_port()
    p = start(run_pipyx, '''
        from pipyx import pipy


        def check(start):
            if start.head.path == '/raise':
                raise RuntimeError('boom in front of mux_http')


        pipy().listen('127.0.0.1:%d').demux_http().to(
            lambda p: p.handle_message_start(check).mux_http().to(lambda p: p.connect('127.0.0.1:%d')))
    ''' % (port, backend), port)
    with RawClient(port, timeout=3) as c:
        c.send(req('/raise'))
        try:
            r = c.read_response()
        except (TimeoutError, socket.timeout):
            raise AssertionError('no answer in 3 s to a request whose handle_message_start callback raised')
        assert r.status == 500, r
        c.send(req('/echo', 'POST', body=b'next'))
        assert json_of(c.read_response())['body'] == 'next'
    log = p.log()
    assert 'boom in front of mux_http' in log
    no_traceback(log)


# -------------------------------------------------------------------------------------------- many connections

def test_relay_client_gone_before_sending_is_closed(run_pipyx, backend):
    """Clients that connect to a TCP relay and hang up without sending a byte (port scans, health checks) must not
    leave their connections open in pipyx."""
    port = free_port()
    p = start(run_pipyx, RELAY % {'port': port, 'backend': backend, 'connect_opts': ''}, port)
    time.sleep(0.2)
    base = open_fds(p.pid)
    for _ in range(20):
        socket.create_connection(('127.0.0.1', port), timeout=5).close()
    with RawClient(port) as c:             # answered only once pipyx has accepted the 20 before it: the relay works
        c.send(req('/conn', headers=[('Connection', 'close')]))
        assert json_of(c.read_response())['requests'] == 1
    deadline = time.monotonic() + 2
    while open_fds(p.pid) > base and time.monotonic() < deadline:
        time.sleep(0.05)
    assert open_fds(p.pid) <= base, '%d sockets more open in pipyx 2 s after 20 clients left without sending' % (
        open_fds(p.pid) - base)


def test_thousand_idle_connections(run_pipyx, backend):
    n = 1000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 200:
        if hard != resource.RLIM_INFINITY and hard < n + 200:
            pytest.skip('RLIMIT_NOFILE hard limit %d is too low for %d connections' % (hard, n))
        resource.setrlimit(resource.RLIMIT_NOFILE, (n + 1000 if hard == resource.RLIM_INFINITY
                                                    else min(hard, n + 1000), hard))
    port = free_port()
    p = start(run_pipyx, PROXY % {'port': port, 'backend': backend}, port)
    limit = open_files_limit(p.pid)
    if limit < 2 * n + 100:
        pytest.skip("pipyx's open files limit is %d: not enough for %d clients and their upstreams" % (limit, n))
    for _ in range(3):
        json_of(simple_request(port, '/conn'))
    time.sleep(0.2)
    base_fds = open_fds(p.pid)
    base = vm_rss_kb(p.pid)
    socks = []
    try:
        for _ in range(n):
            socks.append(socket.create_connection(('127.0.0.1', port), timeout=10))
        deadline = time.monotonic() + 10
        while open_fds(p.pid) < base_fds + n and time.monotonic() < deadline:
            time.sleep(0.05)
        assert open_fds(p.pid) >= base_fds + n, 'pipyx accepted %d of %d' % (open_fds(p.pid) - base_fds, n)
        time.sleep(0.3)
        idle = vm_rss_kb(p.pid)
        per_conn = (idle - base) * 1024.0 / n
        print('%d idle connections: pipyx RSS %.1f -> %.1f MB, %.0f bytes per idle connection' % (
            n, base / 1024.0, idle / 1024.0, per_conn))
        for i, s in enumerate(socks):
            s.sendall(req('/echo', 'POST', body=b'conn-%d' % i))
        bad = []
        conns = set()
        for i, s in enumerate(socks):
            c = RawClient.__new__(RawClient)
            c.sock, c.buf, c.timeout = s, b'', 10.0
            try:
                r = c.read_response()
                if r.status != 200 or json.loads(r.body)['body'] != 'conn-%d' % i:
                    bad.append((i, r.status, r.body[:100]))
            except Exception as e:  # noqa: BLE001 — reported below
                bad.append((i, repr(e)))
        assert not bad, (len(bad), bad[:5])
        for i, s in enumerate(socks):                                # a second round on the same connections
            s.sendall(req('/conn'))
        for i, s in enumerate(socks):
            c = RawClient.__new__(RawClient)
            c.sock, c.buf, c.timeout = s, b'', 10.0
            conns.add(json_of(c.read_response())['conn'])
        busy = vm_rss_kb(p.pid)
        print('after 2 requests on each: RSS %.1f MB, %d upstream connections' % (busy / 1024.0, len(conns)))
    finally:
        for s in socks:
            s.close()
    assert per_conn < 20 * 1024, '%.0f bytes of RSS per idle connection' % per_conn
    assert p.proc.poll() is None
    no_traceback(p.log())
