"""Files above the memory cache's cap go out with sendfile: never read into the process, in order with the
responses pipelined behind them, and a client that leaves mid-file costs nothing."""
import hashlib
import http.client
import os
import socket
import ssl
import time

import pytest

from test.files.support import FileServer, curl
from test.helpers import RawClient, free_port, open_fds, vm_rss_kb, wait_for

BIG = 48 << 20


@pytest.fixture(scope='module')
def big_site(tmp_path_factory):
    root = tmp_path_factory.mktemp('sendfile') / 'www'
    root.mkdir()
    block = os.urandom(1 << 20)
    with open(root / 'big.bin', 'wb') as f:
        for i in range(BIG >> 20):
            f.write(bytes([i]) + block[1:])
    (root / 'small.txt').write_bytes(b'small file\n')
    digest = hashlib.sha256((root / 'big.bin').read_bytes()).hexdigest()
    return root, digest


@pytest.fixture
def server(big_site, tmp_path):
    s = FileServer(str(big_site[0]), str(tmp_path), max_file_size=1 << 20)
    yield s
    s.stop()
    s.stop()


def test_large_file_is_sent_whole_without_growing_the_process(server, big_site):
    base = vm_rss_kb(server.proc.pid)
    for _ in range(3):
        conn = http.client.HTTPConnection('127.0.0.1', server.port, timeout=10)
        conn.request('GET', '/big.bin')
        r = conn.getresponse()
        h = hashlib.sha256()
        got = 0
        while True:
            chunk = r.read(1 << 20)
            if not chunk:
                break
            h.update(chunk)
            got += len(chunk)
        conn.close()
        assert r.status == 200 and got == BIG and h.hexdigest() == big_site[1]
    grown = vm_rss_kb(server.proc.pid) - base
    assert grown < 8 * 1024, 'serving 3 x 48 MiB grew the process by %d KiB' % grown


def test_pipelined_requests_behind_a_file_come_back_in_order(server, big_site):
    with RawClient(server.port, timeout=10) as c:
        c.send(b'GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n'
               b'GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n'
               b'GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=1048576-1048580\r\n\r\n'
               b'HEAD /big.bin HTTP/1.1\r\nHost: x\r\n\r\n'
               b'GET /small.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        r = c.read_response()
        assert r.status == 200 and hashlib.sha256(r.body).hexdigest() == big_site[1]
        r = c.read_response()
        assert (r.status, r.body) == (200, b'small file\n')
        r = c.read_response()
        assert r.status == 206 and r.body == b'\x01' + open(os.path.join(big_site[0], 'big.bin'), 'rb').read(
            1048581)[1048577:]
        assert r.header('content-range') == 'bytes 1048576-1048580/%d' % BIG
        r = c.read_response(head_request=True)          # HEAD: the length, no body
        assert r.status == 200 and r.header('content-length') == str(BIG)
        r = c.read_response()
        assert (r.status, r.body) == (200, b'small file\n')
        assert c.read_to_close() == b''                 # and the connection closes as asked


def test_a_client_leaving_mid_file_leaks_nothing(server):
    pid = server.proc.pid
    for _ in range(2):                    # the entry, then the fast path's open file (one, kept for the interval)
        assert server.get('/big.bin', method='HEAD').status == 200
    fds = open_fds(pid)
    for _ in range(10):
        s = socket.create_connection(('127.0.0.1', server.port), timeout=10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        s.sendall(b'GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n')
        s.recv(65536)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\x01\x00\x00\x00\x00\x00\x00\x00')
        s.close()                                      # a reset while the server is blocked on a full socket
    assert wait_for(lambda: open_fds(pid) <= fds, timeout=5), (open_fds(pid), fds)
    assert server.get('/small.txt').body == b'small file\n'
    assert 'Traceback' not in server.proc.log()


def test_a_slow_reader_gets_the_whole_file(server, big_site):
    code, out, err = curl('--limit-rate', '40M', '--max-time', '20', server.url('/big.bin'), timeout=30)
    assert code == 0, err
    assert hashlib.sha256(out).hexdigest() == big_site[1]


def test_file_over_tls_is_read_in_pieces(run_pipyx, big_site, certs, tmp_path):
    port = free_port()
    run_pipyx('''
        import ssl
        from pipyx import pipy
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(%r, %r)
        pipy().listen('127.0.0.1:%d', ssl=ctx).serve_files(%r, max_file_size=1 << 20)
    ''' % (certs['cert'], certs['key'], port, str(big_site[0])), port=port)
    context = ssl.create_default_context(cafile=certs['ca'])
    conn = http.client.HTTPSConnection('127.0.0.1', port, context=context, timeout=20)
    conn.request('GET', '/big.bin')
    r = conn.getresponse()
    body = r.read()
    conn.close()
    assert r.status == 200 and hashlib.sha256(body).hexdigest() == big_site[1]


def test_a_large_file_changed_on_disk_is_served_fresh_after_the_check_interval(big_site, tmp_path):
    root = tmp_path / 'www'
    root.mkdir()
    path = root / 'video.bin'
    path.write_bytes(b'a' * (2 << 20))
    s = FileServer(str(root), str(tmp_path), max_file_size=1 << 20, check_interval=0.3)
    try:
        first = s.get('/video.bin')
        assert first.status == 200 and first.body == b'a' * (2 << 20)
        assert s.get('/video.bin').header('etag') == first.header('etag')     # its description is kept
        time.sleep(0.05)
        path.write_bytes(b'b' * (3 << 20))
        time.sleep(0.4)
        r = s.get('/video.bin')
        assert r.body == b'b' * (3 << 20) and r.header('content-length') == str(3 << 20)
        assert r.header('etag') != first.header('etag')
        path.unlink()
        time.sleep(0.4)
        assert s.get('/video.bin').status == 404
    finally:
        s.stop()
