"""A reverse proxy in front of upstreams that go silent, close, stall or send tiny pieces: what the client receives,
how many times the upstream received the request (a request is never sent twice unless it is safe), and that a
normal client is served meanwhile."""
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from test.helpers import free_port, wait_for

from .support import Proxy, timed_response
from .upstreams import (answer, close_after_reading, echo_length, half_body_then_stall, refuse_at_head, silent,
                        status_line_then_stall)

WARM = b'GET /warm HTTP/1.1\r\nHost: up\r\n\r\n'
POST = b'POST /charge-card HTTP/1.1\r\nHost: up\r\nContent-Length: 10\r\n\r\namount=100'


def served(proxy):
    """A normal request on a fresh connection is answered while the other one is in trouble."""
    with proxy.client(5) as c:
        c.send(b'GET /ok HTTP/1.1\r\nHost: up\r\n\r\n')
        return c.read_response().status == 200


def test_a_post_that_times_out_on_a_reused_connection_is_sent_once_and_answered_504_once(processes, tmp_path,
                                                                                           upstreams):
    up = upstreams({'/warm': answer(), '/ok': answer(), 'default': silent})
    proxy = Proxy(processes, tmp_path, up, connect={'read_timeout': 1})
    with proxy.client() as c:
        assert timed_response(c, WARM)[0].status == 200
        r, took = timed_response(c, POST)
        assert r.status == 504
        assert 0.9 < took < 3.5, took
        assert served(proxy)
        time.sleep(1.5)                    # time enough for a second attempt to reach the upstream and time out
        assert c.is_closed(0.2) or c.nothing_pending(0.2)
    posts = up.requests('POST')
    assert len(posts) == 1, posts
    assert posts[0].body == b'amount=100'


def test_a_get_to_a_silent_upstream_after_a_warm_up_gets_one_504(processes, tmp_path, upstreams):
    up = upstreams({'/warm': answer(), '/ok': answer(), 'default': silent})
    proxy = Proxy(processes, tmp_path, up, connect={'read_timeout': 1})
    with proxy.client() as c:
        assert timed_response(c, WARM)[0].status == 200
        r, took = timed_response(c, b'GET /slow HTTP/1.1\r\nHost: up\r\n\r\n')
        assert r.status == 504 and took < 3.5
    time.sleep(1.5)
    assert len(up.requests(path='/slow')) == 1      # a timeout is never retried, idempotent or not


def test_a_post_on_a_reused_connection_that_closes_after_receiving_it_is_not_sent_again(processes, tmp_path,
                                                                                         upstreams):
    up = upstreams({'/warm': answer(), '/ok': answer(), 'default': close_after_reading})
    proxy = Proxy(processes, tmp_path, up)
    with proxy.client() as c:
        assert timed_response(c, WARM)[0].status == 200
        assert timed_response(c, POST)[0].status == 502
    assert served(proxy)
    assert len(up.requests('POST')) == 1


def test_a_get_on_a_reused_connection_that_closes_is_sent_once_more_on_a_new_one(processes, tmp_path, upstreams):
    # The upstream drops its keep-alive connection just as the request goes: the one retry nginx also makes.
    state = {'closed': False}

    def close_once(conn, req):
        if not state['closed']:
            state['closed'] = True
            return False
        return answer(b'second try')(conn, req)
    up = upstreams({'/warm': answer(), 'default': close_once})
    proxy = Proxy(processes, tmp_path, up)
    with proxy.client() as c:
        assert timed_response(c, WARM)[0].status == 200
        r = timed_response(c, b'GET /item HTTP/1.1\r\nHost: up\r\n\r\n')[0]
        assert (r.status, r.body) == (200, b'second try')
    items = up.requests(path='/item')
    assert len(items) == 2 and items[0].conn_id != items[1].conn_id


def test_retry_idempotent_false_sends_every_request_once(processes, tmp_path, upstreams):
    up = upstreams({'/warm': answer(), 'default': close_after_reading})
    proxy = Proxy(processes, tmp_path, up, mux={'retry_idempotent': False})
    with proxy.client() as c:
        assert timed_response(c, WARM)[0].status == 200
        assert timed_response(c, b'GET /item HTTP/1.1\r\nHost: up\r\n\r\n')[0].status == 502
    assert len(up.requests(path='/item')) == 1


def test_an_upstream_that_sends_a_status_line_and_stalls_gets_a_504(processes, tmp_path, upstreams):
    up = upstreams({'/ok': answer(), 'default': status_line_then_stall})
    proxy = Proxy(processes, tmp_path, up, connect={'read_timeout': 1})
    with proxy.client() as c:
        r, took = timed_response(c, b'GET /stall HTTP/1.1\r\nHost: up\r\n\r\n')
        assert r.status == 504 and took < 3.5
    assert served(proxy)
    assert len(up.requests(path='/stall')) == 1


def test_a_body_that_stalls_is_cut_and_logged(processes, tmp_path, upstreams):
    up = upstreams({'/ok': answer(), 'default': half_body_then_stall})
    proxy = Proxy(processes, tmp_path, up, connect={'read_timeout': 1})
    with proxy.client() as c:
        c.send(b'GET /half HTTP/1.1\r\nHost: up\r\n\r\n')
        version, status, reason, headers, raw = c.read_head()
        assert status == 200
        t0 = time.monotonic()
        got = c.read_to_close()            # the ten bytes, then the connection closes: the response is cut
        assert got == b'x' * 10 and time.monotonic() - t0 < 3.5
    assert served(proxy)
    wait_for(lambda: 'GET /half stopped: ReadTimeout' in proxy.log(), 5, proxy.log)


def tiny_chunks(count):
    return b''.join([b'1\r\nx\r\n'] * count) + b'0\r\n\r\n'


def test_a_chunked_body_of_700000_one_byte_chunks_gets_through(processes, tmp_path, upstreams):
    up = upstreams(echo_length)
    proxy = Proxy(processes, tmp_path, up)
    head = b'POST /upload HTTP/1.1\r\nHost: up\r\nTransfer-Encoding: chunked\r\n\r\n'
    with proxy.client(30) as c:
        r, _ = timed_response(c, head + tiny_chunks(700000))
        assert (r.status, r.body) == (200, b'700000 length')
    assert 'Traceback' not in proxy.log()


def test_tiny_chunks_past_the_buffer_stream_chunked_and_arrive_whole(processes, tmp_path, upstreams):
    up = upstreams(echo_length)
    proxy = Proxy(processes, tmp_path, up, mux={'buffer_chunked_body': 0})
    head = b'POST /upload HTTP/1.1\r\nHost: up\r\nTransfer-Encoding: chunked\r\n\r\n'
    with proxy.client(30) as c:
        r, _ = timed_response(c, head + tiny_chunks(300000))
        assert (r.status, r.body) == (200, b'300000 chunked')


class _LengthOnly(BaseHTTPRequestHandler):
    """Python's http.server, which reads a body by Content-Length only."""
    protocol_version = 'HTTP/1.1'

    def do_POST(self):
        n = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(n)
        out = b'got %d: %s' % (n, body[:20])
        self.send_response(200)
        self.send_header('Content-Length', str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *a):
        pass


def test_a_chunked_upload_reaches_a_backend_without_chunked_support(processes, tmp_path):
    server = ThreadingHTTPServer(('127.0.0.1', 0), _LengthOnly)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    class Address:
        address = '127.0.0.1:%d' % server.server_address[1]
    try:
        proxy = Proxy(processes, tmp_path, Address)
        with proxy.client() as c:
            # As a streaming client sends it: the head, then each chunk as it is ready.
            for piece in (b'POST /form HTTP/1.1\r\nHost: up\r\nTransfer-Encoding: chunked\r\n\r\n',
                          b'5\r\nhello\r\n', b'6\r\n world\r\n', b'0\r\n\r\n'):
                c.send(piece)
                time.sleep(0.05)
            r = c.read_response()
            assert (r.status, r.body) == (200, b'got 11: hello world')
    finally:
        server.shutdown()
        server.server_close()


def test_a_raising_connect_target_after_an_async_callback_answers_500_with_the_line(processes, tmp_path):
    port = free_port()
    script = tmp_path / 'main.py'
    script.write_text('''from pipyx import pipy

async def async_noop(msg):
    pass

def mark(msg):
    pass

def target():
    raise LookupError('no upstream for this request')

pipy().listen('127.0.0.1:%d').demux_http().to(
    lambda p: p.handle_message_start(async_noop).handle_message_start(mark).mux_http().to(
        lambda p: p.connect(target)))
''' % port)
    proc = processes.pipyx([str(script)], port=port)
    for _ in range(3):
        with socket.create_connection(('127.0.0.1', port), timeout=5) as s:
            s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
            assert s.recv(4096).startswith(b'HTTP/1.1 500 ')
    wait_for(lambda: "main.py:10: LookupError: no upstream for this request" in proc.log(), 5, proc.log)
    assert 'Traceback' not in proc.log() and '_done_waiting' not in proc.log()


def test_an_answer_before_the_body_on_a_closing_connection_lets_the_upstream_go(processes, tmp_path, upstreams):
    # The client asks to close after this request; the upstream refuses it from its head. The client's connection
    # closes after the answer, the rest of the body never comes: the upstream connection, out of step, is closed
    # at once rather than held until a timeout.
    up = upstreams(refuse_at_head)
    proxy = Proxy(processes, tmp_path, up)
    with proxy.client() as c:
        c.send(b'POST /big HTTP/1.1\r\nHost: up\r\nConnection: close\r\nContent-Length: 1000000\r\n\r\n' + b'z' * 1000)
        assert c.read_response().status == 413
        assert c.is_closed(3)
    wait_for(lambda: up.closed == 1, 3, 'the upstream connection closed')
