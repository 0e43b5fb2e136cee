"""Flow control: pipyx pushes back on whoever sends faster than the other side reads, instead of buffering. pipyx
runs as a real process on 127.0.0.1 in front of test/helpers/backend_app.py, with RSS read from /proc/PID/status.
"""
import hashlib
import os
import socket
import threading
import time

from test.helpers import (FAST_STOP, PROXY, RELAY, RawClient, big_pattern, echo_of, free_port, json_of, no_traceback,
                          req, simple_request, vm_rss_kb)


def test_upload_flow_control_bounded_memory(run_pipyx, backend):
    """A 64 MB upload to a backend that reads slowly: pipyx pushes back on the client instead of buffering."""
    port = free_port()
    p = run_pipyx(PROXY % {'port': port, 'backend': backend}, port=port, args=FAST_STOP)
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
    # How soon the client finishes says nothing here: loopback sockets grow their receive buffers up to
    # net.ipv4.tcp_rmem's maximum (32 MB on some machines), so the kernel alone may hold most of the upload. What
    # pipyx held is what its RSS shows, sampled while the backend still had seconds of reading to do.
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
    p = run_pipyx(RELAY % {'port': port, 'backend': backend, 'connect_opts': ''}, port=port, args=FAST_STOP)
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


def test_slow_client_bounded_memory(run_pipyx, backend):
    port = free_port()
    p = run_pipyx('''
        from pipyx import pipy
        pipy().listen('127.0.0.1:%d').demux_http().to(
            lambda p: p.mux_http().to(lambda p: p.connect('127.0.0.1:%d')))
    ''' % (port, backend), port=port)
    simple_request(port, '/big/1000000', timeout=10)          # warm up every code path
    base = vm_rss_kb(p.pid)
    size = 50 * 1024 * 1024
    peak = base
    got = 0
    c = RawClient(port, timeout=10, rcvbuf=16384)
    try:
        c.send(req('/big/%d' % size))
        version, status, reason, headers, raw = c.read_head()
        assert status == 200
        got = len(c.buf)
        c.buf = b''
        # Read nothing for a while: if pipyx does not push back on the upstream, it buffers the whole body.
        for i in range(15):
            time.sleep(0.1)
            peak = max(peak, vm_rss_kb(p.pid))
        # Then read slowly for a while, sampling.
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            chunk = c.sock.recv(8192)
            assert chunk
            got += len(chunk)
            time.sleep(0.002)
            peak = max(peak, vm_rss_kb(p.pid))
        # Then drain the rest quickly.
        t_end = time.monotonic() + 15
        while got < size and time.monotonic() < t_end:
            chunk = c.sock.recv(1 << 20)
            if not chunk:
                break
            got += len(chunk)
            if got % (8 << 20) < (1 << 20):
                peak = max(peak, vm_rss_kb(p.pid))
    finally:
        c.close()
    grew_mb = (peak - base) / 1024.0
    assert grew_mb < 30, 'RSS grew by %.1f MB while a slow client read a 50 MB response' % grew_mb
    assert got == size, 'got %d of %d bytes' % (got, size)
    assert echo_of(simple_request(port, '/echo'))['method'] == 'GET'
