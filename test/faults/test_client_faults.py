"""Clients that send too much before reading, trickle, pause, half-close, or don't speak HTTP: each gets the answer
nginx would give (431, 413, 408, 400, 414), the answer reaches it even while it is still sending, and a normal
client is served meanwhile."""
import signal
import socket
import ssl
import threading
import time

import pytest

from test.helpers import RawClient, free_port, vm_rss_kb, wait_for

from .support import Proxy
from .upstreams import answer, echo_length

SERVER = '''
from pipyx import pipy


def hello(request):
    return 'hello'


pipy().listen('127.0.0.1:{port}').serve_http(hello, max_body_size=1 << 20)
pipy().listen('127.0.0.1:{quick}').serve_http(hello, header_timeout=1, body_timeout=1)
'''


@pytest.fixture
def server(run_pipyx):
    ports = {'port': free_port(), 'quick': free_port()}
    proc = run_pipyx(SERVER.format(**ports), port=ports['port'])
    proc.wait_ready(ports['quick'])
    proc.ports = ports
    return proc


def served(port):
    with RawClient(port, 5) as c:
        return c.get('/')[0] == 200


def send_then_read(port, data, read_timeout=10):
    """Sends all of data in 16 KiB pieces before reading, as an uploading client does, then reads the answer's
    status code. 'reset' if sending failed: the server closed on a client still sending, which resets the
    connection, and the client (curl, a browser) never reads the answer the server sent."""
    s = socket.create_connection(('127.0.0.1', port), timeout=read_timeout)
    try:
        try:
            for i in range(0, len(data), 16384):
                s.sendall(data[i:i + 16384])
                time.sleep(0.0005)
        except (BrokenPipeError, ConnectionResetError):
            return 'reset'
        got = b''
        try:
            while b'\r\n' not in got:
                b = s.recv(65536)
                if not b:
                    break
                got += b
        except ConnectionResetError:
            return 'reset'
        return int(got.split(b' ', 2)[1]) if got.startswith(b'HTTP/1.1 ') else got[:50]
    finally:
        s.close()


def test_a_200_kb_header_sent_before_reading_gets_431_every_time(server):
    port = server.ports['port']
    head = b'GET / HTTP/1.1\r\nHost: x\r\n' + b''.join(b'X-Fill-%d: %s\r\n' % (i, b'a' * 1000) for i in range(200))
    results = [send_then_read(port, head + b'\r\n') for _ in range(10)]
    assert results == [431] * 10
    assert served(port)


def test_a_body_far_past_the_limit_sent_before_reading_gets_413_every_time(server):
    port = server.ports['port']
    head = b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n' % (20 << 20)
    results = [send_then_read(port, head + b'z' * (20 << 20)) for _ in range(10)]
    assert results == [413] * 10
    assert served(port)


def test_a_20_kb_request_line_gets_414(server):
    line = b'GET /' + b'a' * 20000 + b' HTTP/1.1\r\nHost: x\r\n\r\n'
    assert send_then_read(server.ports['port'], line) == 414


@pytest.mark.parametrize('garbage', [b'\x00' * 64, 'tls'])
def test_bytes_that_are_not_http_get_400_at_once(server, garbage):
    if garbage == 'tls':
        # A real ClientHello, as a TLS client sends it to a port it wrongly takes for HTTPS.
        outgoing = ssl.MemoryBIO()
        tls = ssl.create_default_context().wrap_bio(ssl.MemoryBIO(), outgoing, server_hostname='example.test')
        with pytest.raises(ssl.SSLWantReadError):        # it waits for a server's answer, the hello written
            tls.do_handshake()
        garbage = outgoing.read()
    assert garbage
    with RawClient(server.ports['port'], 3) as c:
        t0 = time.monotonic()
        c.send(garbage)
        r = c.read_response()
        assert r.status == 400 and time.monotonic() - t0 < 1.5
        assert c.is_closed(2)


def test_a_header_trickled_a_byte_at_a_time_is_cut_with_408(server):
    port = server.ports['quick']
    with RawClient(port, 5) as c:
        t0 = time.monotonic()
        for b in b'GET / HTTP/1.1\r\nHost: x\r\n':
            try:
                c.send(bytes([b]))
            except OSError:
                break
            time.sleep(0.1)
            if time.monotonic() - t0 > 3:
                break
        r = c.read_response()
        assert r.status == 408 and time.monotonic() - t0 < 3.5
    assert served(port)


def test_a_body_that_pauses_past_the_body_timeout_is_cut_with_408(server):
    port = server.ports['quick']
    with RawClient(port, 5) as c:
        c.send(b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n' + b'b' * 10)
        t0 = time.monotonic()
        r = c.read_response()
        assert r.status == 408 and 0.8 < time.monotonic() - t0 < 3
        assert c.is_closed(2)


def test_a_body_that_keeps_coming_is_not_cut(server):
    port = server.ports['quick']
    with RawClient(port, 5) as c:
        c.send(b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 25\r\n\r\n')
        for _ in range(25):
            time.sleep(0.1)                # 2.5 s in all, more than the 1 s limit, never pausing 1 s
            c.send(b'b')
        assert c.read_response().status == 200


def test_a_client_that_half_closes_mid_body_gets_400_at_once(server):
    with RawClient(server.ports['port'], 5) as c:
        c.send(b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n' + b'b' * 10)
        c.sock.shutdown(socket.SHUT_WR)
        t0 = time.monotonic()
        r = c.read_response()
        assert r.status == 400 and time.monotonic() - t0 < 1
        assert c.is_closed(2)


def test_through_the_proxy_half_close_mid_body_gets_400_and_the_upstream_no_request(processes, tmp_path,
                                                                                    upstreams):
    up = upstreams(echo_length)
    proxy = Proxy(processes, tmp_path, up)
    with proxy.client() as c:
        c.send(b'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n' + b'b' * 10)
        c.sock.shutdown(socket.SHUT_WR)
        t0 = time.monotonic()
        assert c.read_response().status == 400 and time.monotonic() - t0 < 1
    time.sleep(0.3)
    assert up.requests() == []             # the upstream never saw a whole request


def test_a_request_waiting_on_a_slow_upstream_outlives_the_idle_timeout(processes, tmp_path, upstreams):
    def slow(conn, req):
        time.sleep(2.5)
        return answer(b'late')(conn, req)
    up = upstreams(slow)
    proxy = Proxy(processes, tmp_path, up, listen={'idle_timeout': 1}, connect={'read_timeout': 10})
    with proxy.client() as c:
        c.send(b'GET /slow HTTP/1.1\r\nHost: x\r\n\r\n')
        r = c.read_response()
        assert (r.status, r.body) == (200, b'late')
        assert c.is_closed(3)              # idle again: the idle timeout applies


def test_trickling_clients_do_not_hold_the_server(server):
    # 200 connections each sending a header byte every 0.3 s: all are cut after the 1 s header timeout, the
    # server's memory stays put and a normal client is served throughout.
    port = server.ports['quick']
    rss0 = vm_rss_kb(server.pid)
    socks = [socket.create_connection(('127.0.0.1', port), timeout=5) for _ in range(200)]
    stop = threading.Event()

    def trickle():
        data = b'GET / HTTP/1.1\r\n' + b'X' * 100
        for i in range(len(data)):
            if stop.is_set():
                return
            for s in socks:
                try:
                    s.send(data[i:i + 1])
                except OSError:
                    continue                # that one was cut already: what the test waits for
            time.sleep(0.3)
    t = threading.Thread(target=trickle, daemon=True)
    t.start()
    try:
        assert served(port)
        wait_for(lambda: all(_closed(s) for s in socks), 8, 'trickling connections closed')
        assert vm_rss_kb(server.pid) - rss0 < 20000
    finally:
        stop.set()
        for s in socks:
            s.close()


def _closed(s):
    s.setblocking(False)
    try:
        while True:
            b = s.recv(65536)
            if not b:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


REFUSER = '''
from pipyx import pipy, Message


def refuse(start):
    return Message({{'status': 401}}, 'no')


pipy().listen('127.0.0.1:{port}').demux_http().to(
    lambda p: p.replace_data().replace_message_end().replace_message_start(refuse))
'''


@pytest.fixture
def refuser(run_pipyx):
    port = free_port()
    proc = run_pipyx(REFUSER.format(port=port), port=port)
    proc.port = port
    return proc


def test_a_refusal_from_the_head_goes_instead_of_100_continue_and_closes(refuser):
    with RawClient(refuser.port, 5) as c:
        c.send(b'PUT /up HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n')
        r = c.read_response(allow_interim=True)
        assert r.status == 401 and r.header('connection') == 'close'
        assert c.is_closed(2)


def test_a_request_answered_from_its_head_gets_no_second_answer_when_its_body_is_cut(refuser):
    with RawClient(refuser.port, 5) as c:
        c.send(b'PUT /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n' + b'b' * 10)
        assert c.read_response().status == 401
        c.sock.shutdown(socket.SHUT_WR)
        assert c.read_to_close() == b''      # closed, and no 400 after the 401


def test_a_stop_does_not_wait_on_an_idle_keep_alive_client(server):
    # The connection closes between requests: nothing more is coming, so there is nothing to linger for, and a
    # client that keeps its pooled connection open (as a repo watcher or a browser does) cannot hold up the stop.
    with RawClient(server.ports['port'], 5) as c:
        assert c.get('/')[0] == 200
        t0 = time.monotonic()
        assert server.stop() == 0
        assert time.monotonic() - t0 < 3
        assert c.read_to_close() == b''      # a clean end, not a reset


def test_a_stop_still_lets_a_refused_upload_read_its_answer(server):
    # Closed on a request whose body it will not read, the connection lingers through the stop as well.
    s = socket.create_connection(('127.0.0.1', server.ports['port']), timeout=10)
    try:
        s.sendall(b'POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n' + b'x' * 65536)
        got = s.recv(65536)
        assert got.startswith(b'HTTP/1.1 413 ')
        server.proc.send_signal(signal.SIGTERM)
        for _ in range(40):                  # still sending after the answer and the stop: no reset
            s.sendall(b'x' * 16384)
            time.sleep(0.005)
        s.shutdown(socket.SHUT_WR)
        assert s.recv(65536) == b''
    finally:
        s.close()
    assert server.proc.wait(12) == 0
