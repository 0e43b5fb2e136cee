"""serve_http and demux_http speaking HTTP/2 beside HTTP/1.1 on the same listener: h2c by prior knowledge, h2 by
ALPN under accept_tls; against curl, nghttp, h2load, a demux_http -> mux_http proxy to an HTTP/1.1 upstream, and
raw frames for bad input (each ending its stream or its connection with the right error code, the process serving
the next client). One pipyx process serves the module."""
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import time

import hpack
import pytest

from pipyx._native import Http2FrameLog, Http2FrameReader, Http2Frames as F
from test.helpers import ScriptOnPorts, free_port, lacks

PREFACE = b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'
NO_ERROR, PROTOCOL_ERROR, FLOW_CONTROL_ERROR, FRAME_SIZE_ERROR = 0, 1, 3, 6
REFUSED_STREAM, COMPRESSION_ERROR, ENHANCE_YOUR_CALM = 7, 9, 11

SCRIPT = '''
import asyncio
from pipyx import pipy, Message

def pattern(n):
    return (b'0123456789abcdef' * (n // 16 + 1))[:n]

async def later(ms, path):
    await asyncio.sleep(ms / 1000.0)
    return Message({{'status': 200}}, 'late ' + path)

def route(req):
    h = req.head
    path = h.path
    if path.startswith('/echo'):
        return Message({{'status': 200, 'headers': {{'x-method': h.method, 'x-host': h.headers.get('host', ''),
                                                   'x-protocol': h.protocol}}}}, req.body)
    if path.startswith('/big/'):
        return Message({{'status': 200, 'headers': {{'content-type': 'application/octet-stream'}}}},
                       pattern(int(path[5:])))
    if path.startswith('/sleep/'):
        return later(int(path[7:]), path)
    if path.startswith('/raise'):
        raise RuntimeError('boom')
    if path.startswith('/status/'):
        return Message({{'status': int(path[8:])}}, 'not sent')
    return Message({{'status': 200, 'headers': {{'x-path': path}}}}, 'path=' + path + '\\n')

pipy().listen('127.0.0.1:{p_serve}').serve_http(route)
pipy().listen('127.0.0.1:{p_demux}').demux_http().to(lambda p: p.replace_message(route))
pipy().listen('127.0.0.1:{p_tls}').accept_tls(certificate={{'cert': {cert!r}, 'key': {key!r}}},
                                              alpn=['h2', 'http/1.1']).to(lambda p: p.serve_http(route))
pipy().listen('127.0.0.1:{p_small}').serve_http(route, max_body_size=1000, http2={{
    'max_concurrent_streams': 4, 'max_resets': 20, 'max_continuations': 8, 'max_header_list_size': 4096}})
pipy().listen('127.0.0.1:{p_back}').serve_http(route, http2=False)
pipy().listen('127.0.0.1:{p_proxy}').demux_http().to(lambda p: p.mux_http().to(
    lambda s: s.connect('127.0.0.1:{p_back}')))
pipy().listen('127.0.0.1:{p_const}').serve_http(Message({{'status': 200, 'headers': {{'x-c': '1'}}}}, 'Hi\\n'))
'''
PORTS = ('p_serve', 'p_demux', 'p_tls', 'p_small', 'p_back', 'p_proxy', 'p_const')


@pytest.fixture(scope='module')
def srv(tmp_path_factory, certs):
    s = ScriptOnPorts(tmp_path_factory.mktemp('h2'), SCRIPT, PORTS, cert=certs['cert'], key=certs['key'])
    yield s
    s.proc.stop()


def curl(*args, timeout=20):
    if shutil.which('curl') is None:
        pytest.skip('curl is not installed')
    r = subprocess.run(['curl', '-sS', '--max-time', str(timeout)] + list(args), capture_output=True,
                       timeout=timeout + 5)
    return r


def curl_h2(port, path='/', *args):
    return curl('--http2-prior-knowledge', '-w', '\n%{http_version} %{response_code}', *args,
                'http://127.0.0.1:%d%s' % (port, path))


def split_w(out):
    body, _, tail = out.rpartition(b'\n')
    version, code = tail.split()
    return body, version, int(code)


class RawH2:
    """A client speaking frames as written, reading the server's frames with the native reader."""

    def __init__(self, port, settings=()):
        self.sock = socket.create_connection(('127.0.0.1', port), timeout=5)
        self.log = Http2FrameLog()
        self.reader = Http2FrameReader(self.log, 1 << 24)
        self.enc = hpack.Encoder()
        self.dec = hpack.Decoder()
        self.closed = False
        self.decoded = {}
        self.sock.sendall(PREFACE + F.settings(list(settings)))

    def send(self, b):
        self.sock.sendall(b)

    def block(self, path='/', method='GET', extra=()):
        return self.enc.encode([(':method', method), (':path', path), (':scheme', 'http'),
                                (':authority', 'test')] + list(extra))

    def request(self, sid, path='/', method='GET', body=None):
        self.send(F.headers(sid, self.block(path, method), body is None))
        if body is not None:
            self.send(F.data(sid, body, True))

    def until(self, pred, timeout=5.0):
        """Reads until pred(event) holds for an event (returned), or the connection closes (None)."""
        deadline = time.time() + timeout
        seen = 0
        while True:
            for e in self.log.events[seen:]:
                if pred(e):
                    return e
            seen = len(self.log.events)
            if self.closed:
                return None
            left = deadline - time.time()
            assert left > 0, 'no such frame from the server: %r' % self.log.events[-10:]
            self.sock.settimeout(left)
            try:
                b = self.sock.recv(65536)
            except ConnectionResetError:
                b = b''
            if not b:
                self.closed = True
            else:
                self.reader.feed(b)

    def goaway(self, timeout=5.0):
        return self.until(lambda e: e[0] == 'goaway', timeout)

    def response(self, sid, timeout=5.0):
        """(headers dict, body) of stream sid."""
        self.until(lambda e: e[0] in ('data', 'headers') and e[1] == sid and e[3], timeout)
        head, body = {}, b''
        for i, e in enumerate(self.log.events):
            if e[0] == 'headers':
                if i not in self.decoded:           # each block once, in order: the decoder's table follows
                    self.decoded[i] = self.dec.decode(e[2], raw=True)
                if e[1] == sid:
                    head.update(self.decoded[i])
            elif e[0] == 'data' and e[1] == sid:
                body += e[2]
        return head, body

    def close(self):
        self.sock.close()


def assert_serves_next(port):
    r = curl_h2(port, '/next')
    body, version, code = split_w(r.stdout)
    assert (version, code, body) == (b'2', 200, b'path=/next\n')


# -- real clients --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('which', ['p_serve', 'p_demux'])
def test_curl_prior_knowledge_get_and_post(srv, which):
    r = curl_h2(srv.ports[which], '/hello')
    assert split_w(r.stdout) == (b'path=/hello\n', b'2', 200)
    r = curl_h2(srv.ports[which], '/echo', '-d', 'x' * 5000, '-D', '-')
    body, version, code = split_w(r.stdout)
    assert (version, code) == (b'2', 200)
    assert b'x-method: POST' in body and b'x-host: 127.0.0.1:%d' % srv.ports[which] in body
    assert body.endswith(b'x' * 5000)


def test_upgrade_h2c_from_http1(srv):
    # curl asks for h2c with Upgrade on a plain http:// URL; a request with a body stays HTTP/1.1.
    r = curl('--http2', '-w', '\n%{http_version} %{response_code}', 'http://127.0.0.1:%d/up' % srv.p_serve)
    assert split_w(r.stdout) == (b'path=/up\n', b'2', 200), r.stderr
    r = curl('--http2', '-w', '\n%{http_version} %{response_code}', '-d', 'abc',
             'http://127.0.0.1:%d/echo' % srv.p_demux)
    assert split_w(r.stdout) == (b'abc', b'1.1', 200)


def test_http1_still_served_on_the_same_port(srv):
    r = curl('-w', '\n%{http_version} %{response_code}', 'http://127.0.0.1:%d/one' % srv.p_serve)
    assert split_w(r.stdout) == (b'path=/one\n', b'1.1', 200)


def test_constant_response_and_head_and_status_without_body(srv):
    assert split_w(curl_h2(srv.p_const, '/').stdout) == (b'Hi\n', b'2', 200)
    r = curl_h2(srv.p_serve, '/big/100', '-I')
    body, version, code = split_w(r.stdout)
    assert code == 200 and b'content-length: 100' in body
    assert split_w(curl_h2(srv.p_serve, '/status/204').stdout) == (b'', b'2', 204)


def test_handler_error_answers_500_on_its_stream(srv):
    body, version, code = split_w(curl_h2(srv.p_serve, '/raise').stdout)
    assert (version, code) == (b'2', 500)


def test_h2_by_alpn_over_tls(srv, certs):
    r = curl('--http2', '--cacert', certs['ca'], '-w', '\n%{http_version} %{response_code}',
             'https://127.0.0.1:%d/tls' % srv.p_tls)
    assert split_w(r.stdout) == (b'path=/tls\n', b'2', 200), r.stderr
    r = curl('--http1.1', '--cacert', certs['ca'], '-w', '\n%{http_version} %{response_code}',
             'https://127.0.0.1:%d/tls1' % srv.p_tls)
    assert split_w(r.stdout) == (b'path=/tls1\n', b'1.1', 200)


def test_proxy_answers_h2_clients_from_an_http1_upstream(srv):
    r = curl_h2(srv.p_proxy, '/echo', '-d', 'via proxy', '-D', '-')
    body, version, code = split_w(r.stdout)
    assert (version, code) == (b'2', 200)
    assert b'x-protocol: HTTP/1.1' in body and body.endswith(b'via proxy')
    r = curl_h2(srv.p_proxy, '/big/300000')
    body, version, code = split_w(r.stdout)
    assert code == 200 and len(body) == 300000 and body[:16] == b'0123456789abcdef'


@pytest.mark.skipif(lacks('nghttp'), reason='nghttp is not installed')
def test_nghttp_many_concurrent_streams(srv):
    urls = ['http://127.0.0.1:%d/c/%d' % (srv.p_serve, i) for i in range(60)]
    r = subprocess.run(['nghttp', '-n', '-s', '-t', '15'] + urls, capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count(b'/c/') == 60


@pytest.mark.skipif(lacks('nghttp'), reason='nghttp is not installed')
@pytest.mark.parametrize('which', ['p_serve', 'p_proxy'])
def test_nghttp_big_upload_and_download_with_small_windows(srv, which, tmp_path):
    data = os.urandom(3 << 20)
    up = tmp_path / 'up.bin'
    up.write_bytes(data)
    # 2^16-1 windows each way: the transfer only completes if WINDOW_UPDATEs follow what was taken in.
    r = subprocess.run(['nghttp', '-w', '16', '-W', '16', '-t', '30', '-d', str(up),
                        'http://127.0.0.1:%d/echo' % srv.ports[which]], capture_output=True, timeout=40)
    assert r.returncode == 0, r.stderr
    assert hashlib.sha256(r.stdout).digest() == hashlib.sha256(data).digest()
    r = subprocess.run(['nghttp', '-w', '16', '-W', '16', '-t', '30',
                        'http://127.0.0.1:%d/big/%d' % (srv.ports[which], 5 << 20)], capture_output=True,
                       timeout=40)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout) == 5 << 20 and r.stdout[-16:] == b'0123456789abcdef'


@pytest.mark.skipif(lacks('h2load'), reason='h2load is not installed')
def test_h2load_all_requests_succeed(srv):
    r = subprocess.run(['h2load', '-c', '10', '-m', '10', '-n', '2000', 'http://127.0.0.1:%d/' % srv.p_serve],
                       capture_output=True, timeout=60, text=True)
    assert r.returncode == 0, r.stderr
    assert '2000 succeeded, 0 failed, 0 errored' in r.stdout, r.stdout


# -- the protocol, frame by frame ----------------------------------------------------------------------------------

def test_settings_are_acknowledged_and_ping_answered(srv):
    c = RawH2(srv.p_serve)
    try:
        assert c.until(lambda e: e[0] == 'settings' and not e[1])[2]
        assert c.until(lambda e: e[0] == 'settings' and e[1])
        c.send(F.ping(b'pingpong'))
        assert c.until(lambda e: e[0] == 'ping') == ('ping', True, b'pingpong')
        c.send(F.priority(1, 0, 200) + F.headers(1, c.block('/after-priority'), True,))
        head, body = c.response(1)
        assert head[b':status'] == b'200' and body == b'path=/after-priority\n'
    finally:
        c.close()


def test_a_stalled_stream_does_not_hold_the_others(srv):
    # Streams get 16 KiB of window each, the connection plenty: stream 1's big response stops at its window while
    # stream 3 is answered in full.
    c = RawH2(srv.p_serve, settings=[(4, 16384)])
    try:
        c.send(F.window_update(0, 10 << 20))
        c.request(1, '/big/1000000')
        c.request(3, '/echo', 'POST', b'second')
        head, body = c.response(3)
        assert body == b'second'
        got = sum(len(e[2]) for e in c.log.events if e[0] == 'data' and e[1] == 1)
        assert got <= 16384
        c.send(F.window_update(1, 1000000))
        head, body = c.response(1)
        assert len(body) == 1000000
    finally:
        c.close()


def test_too_many_concurrent_streams_are_refused(srv):
    c = RawH2(srv.p_small)
    try:
        for sid in range(1, 12, 2):
            c.request(sid, '/sleep/300')
        assert c.until(lambda e: e[0] == 'rst_stream') == ('rst_stream', 9, REFUSED_STREAM)
        head, body = c.response(1)
        assert body == b'late /sleep/300'
    finally:
        c.close()


def test_body_over_the_limit_is_answered_413_on_its_stream(srv):
    c = RawH2(srv.p_small)
    try:
        c.send(F.headers(1, c.block('/echo', 'POST'), False) + F.data(1, b'x' * 1500))
        head, body = c.response(1)
        assert head[b':status'] == b'413'
        c.request(3, '/ok')
        assert c.response(3)[1] == b'path=/ok\n'
    finally:
        c.close()


def test_header_list_over_the_limit_is_answered_431(srv):
    c = RawH2(srv.p_small)
    try:
        c.send(F.headers(1, c.block('/', extra=[('x-big', 'v' * 5000)]), True))
        head, body = c.response(1)
        assert head[b':status'] == b'431'
        c.request(3, '/ok')
        assert c.response(3)[1] == b'path=/ok\n'
    finally:
        c.close()


@pytest.mark.parametrize('which', ['p_serve', 'p_demux'])
def test_client_reset_ends_only_its_stream(srv, which):
    c = RawH2(srv.ports[which])
    try:
        c.request(1, '/sleep/200')
        c.send(F.rst_stream(1, 8))
        c.request(3, '/after')
        assert c.response(3)[1] == b'path=/after\n'
    finally:
        c.close()


BAD = {
    'frame_over_max_frame_size': (lambda c: c.send(F.headers(1, c.block('/', 'POST'), False) +
                                                   F.data(1, b'x' * 20000)), FRAME_SIZE_ERROR),
    'headers_interrupted': (lambda c: c.send(F.headers(1, c.block('/', extra=[('x-a', 'b' * 100)]),
                                                       True, max_frame_size=20)[:29] +
                                             F.headers(3, c.block('/'), True)), PROTOCOL_ERROR),
    'hpack_index_out_of_range': (lambda c: c.send(F.headers(1, b'\xff\x80\x01', True)), COMPRESSION_ERROR),
    'connection_window_overflow': (lambda c: c.send(F.window_update(0, 0x7FFFFFFF)), FLOW_CONTROL_ERROR),
    'continuation_flood': (lambda c: c.send(F.headers(1, c.block('/', extra=[('x-a', 'b' * 300)]), True,
                                                      max_frame_size=10)), ENHANCE_YOUR_CALM),
    'rapid_reset': (lambda c: c.send(b''.join(F.headers(sid, c.block('/sleep/1000'), True) + F.rst_stream(sid, 8)
                                              for sid in range(1, 200, 2))), ENHANCE_YOUR_CALM),
    'even_stream': (lambda c: c.send(F.headers(2, c.block('/'), True)), PROTOCOL_ERROR),
}


@pytest.mark.parametrize('case', sorted(BAD))
def test_bad_input_ends_the_connection_with_its_code(srv, case):
    send, code = BAD[case]
    c = RawH2(srv.p_small)
    try:
        send(c)
        g = c.goaway()
        assert g is not None and g[2] == code, c.log.events
    finally:
        c.close()
    assert_serves_next(srv.p_small)


def test_preface_refused_where_http2_is_off(srv):
    s = socket.create_connection(('127.0.0.1', srv.p_back), timeout=5)
    s.sendall(PREFACE)
    got = s.recv(4096)
    s.close()
    assert got.startswith(b'HTTP/1.1 505') or got.startswith(b'HTTP/1.1 400')


def test_garbage_preface_is_answered_as_http1_and_closed(srv):
    s = socket.create_connection(('127.0.0.1', srv.p_serve), timeout=5)
    s.sendall(b'PRI * HTTP/2.0\r\n\r\nXY\r\n\r\n')
    got = b''
    while True:
        b = s.recv(4096)
        if not b:
            break
        got += b
    s.close()
    assert got.startswith(b'HTTP/1.1 4') or got.startswith(b'HTTP/1.1 5')
    assert_serves_next(srv.p_serve)


def test_stream_window_overflow_resets_only_that_stream(srv):
    c = RawH2(srv.p_serve)
    try:
        c.send(F.headers(1, c.block('/echo', 'POST'), False))      # the request stays open
        c.send(F.window_update(1, 0x7FFFFFFF))                     # 65535 + 2^31-1: over the limit
        assert c.until(lambda e: e[0] == 'rst_stream') == ('rst_stream', 1, FLOW_CONTROL_ERROR)
        c.request(3, '/ok')
        assert c.response(3)[1] == b'path=/ok\n'
    finally:
        c.close()


def test_goaway_on_shutdown_finishes_streams_in_flight(run_pipyx):
    port = free_port()
    p = run_pipyx(SCRIPT.split('pipy().listen')[0].format() +
                  "pipy().listen('127.0.0.1:%d').serve_http(route)\n" % port, port=port)
    c = RawH2(port)
    try:
        c.request(1, '/sleep/500')
        c.until(lambda e: e[0] == 'settings' and e[1])
        p.signal(signal.SIGTERM)
        g = c.goaway()
        assert g[1:3] == (1, NO_ERROR)
        head, body = c.response(1)
        assert body == b'late /sleep/500'
        c.request(3, '/late')
        assert c.until(lambda e: e[0] == 'rst_stream' and e[1] == 3 or e[0] == 'headers' and e[1] == 3,
                       timeout=5) in (None, ('rst_stream', 3, REFUSED_STREAM))
    finally:
        c.close()
