"""mux_fastcgi: listen -> demux_http -> mux_fastcgi -> connect in front of a real php-fpm: what PHP sees of a request,
bodies over one record, statuses and headers from the CGI response, reused connections under concurrency, an
application that is down, and PHP's own errors."""
import concurrent.futures
import hashlib
import os
import socket
import time

import pytest

from test.filters.fastcgi_support import PhpFpm
from test.helpers import RawClient, ScriptOnPorts, free_port, simple_request

SCRIPT = '''
from pipyx import pipy, Message, MessageStart

FPM = '127.0.0.1:{fpm}'
opened = [0]                # connections p_main's pool has opened: one session pipeline each


def count(evt):
    opened[0] += 1


pipy().listen('127.0.0.1:{p_main}').demux_http().to(
    lambda p: p.mux_fastcgi(root={root!r}, params={{'APP_ENV': 'set-by-script'}}).to(
        lambda p: p.handle_stream_start(count).connect(FPM)))
# A head of params alone, as Pipy's muxFastCGI takes: the script says every CGI variable itself.
pipy().listen('127.0.0.1:{p_params}').demux_http().to(lambda p: p
    .replace_message_start(lambda e: MessageStart({{'params': {{
        'SCRIPT_FILENAME': {root!r} + '/echo.php', 'REQUEST_METHOD': 'PUT', 'QUERY_STRING': 'a=given',
        'CONTENT_LENGTH': e.head.headers.get('content-length', '0')}}}}))
    .mux_fastcgi().to(lambda p: p.connect(FPM)))
pipy().listen('127.0.0.1:{p_stats}').serve_http(lambda m: Message(str(opened[0])))
pipy().listen('127.0.0.1:{p_front}').demux_http().to(
    lambda p: p.mux_fastcgi(script_filename={root!r} + '/echo.php', max_messages=2).to(lambda p: p.connect(FPM)))
pipy().listen('127.0.0.1:{p_down}').demux_http().to(
    lambda p: p.mux_fastcgi(root={root!r}).to(lambda p: p.connect('127.0.0.1:{dead}')))
pipy().listen('127.0.0.1:{p_small}').demux_http().to(
    lambda p: p.mux_fastcgi(root={root!r}, max_header_size=16, buffer_body=100).to(lambda p: p.connect(FPM)))
'''


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    d = str(tmp_path_factory.mktemp('fastcgi'))
    # (8 workers: p_main's 5 connections and the one or two that the other ports keep open.)
    fpm = PhpFpm(d, children=8)
    proxy = ScriptOnPorts(d, SCRIPT, ('p_main', 'p_front', 'p_down', 'p_small', 'p_params', 'p_stats'), fpm=fpm.port, root=fpm.root,
                          dead=free_port())
    yield proxy
    proxy.proc.stop()
    fpm.stop()


def fields(r):
    return dict(line.split('=', 1) for line in r.text.splitlines() if '=' in line)


def test_get_reaches_php_with_its_method_query_and_headers(site):
    r = simple_request(site.p_main, '/echo.php?a=1&b=two', headers={'X-Test': 'hello', 'Proxy': 'evil:1'})
    assert r.status == 200
    f = fields(r)
    assert f['REQUEST_METHOD'] == 'GET' and f['QUERY_STRING'] == 'a=1&b=two' and f['GET_a'] == '1'
    assert f['REQUEST_URI'] == '/echo.php?a=1&b=two' and f['SCRIPT_NAME'] == '/echo.php'
    assert f['HTTP_X_TEST'] == 'hello' and f['HTTP_HOST'] == 'localhost' and f['REMOTE_ADDR'] == '127.0.0.1'
    assert f['HTTP_PROXY'] == '-'                     # (httpoxy: never passed on)
    assert f['APP_ENV'] == 'set-by-script' and f['length'] == '0'
    assert dict(r.headers)['content-type'] == 'text/plain;charset=UTF-8'
    assert dict(r.headers)['x-method'] == 'GET'


def test_post_with_a_body_over_one_record(site):
    body = os.urandom(200000)
    r = simple_request(site.p_main, '/echo.php', 'POST', body=body,
                       headers={'Content-Type': 'application/octet-stream'}, timeout=10)
    f = fields(r)
    assert r.status == 200 and f['REQUEST_METHOD'] == 'POST' and f['CONTENT_TYPE'] == 'application/octet-stream'
    assert f['length'] == str(len(body)) and f['md5'] == hashlib.md5(body).hexdigest()


def test_a_chunked_body_is_counted_before_it_goes(site):
    parts = [b'alpha-', b'beta-' * 3000, b'gamma']
    enc = b''.join(b'%x\r\n%s\r\n' % (len(p), p) for p in parts) + b'0\r\n\r\n'
    with RawClient(site.p_main) as c:
        c.send(b'POST /echo.php HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' + enc)
        r = c.read_response()
    whole = b''.join(parts)
    assert fields(r)['length'] == str(len(whole)) and fields(r)['md5'] == hashlib.md5(whole).hexdigest()


def test_a_chunked_body_over_buffer_body_is_refused(site):
    enc = b'%x\r\n%s\r\n0\r\n\r\n' % (500, b'x' * 500)
    with RawClient(site.p_small) as c:
        c.send(b'POST /echo.php HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' + enc)
        assert c.read_response().status >= 500


def test_status_headers_and_cookies_come_from_the_cgi_response(site):
    r = simple_request(site.p_main, '/teapot.php')
    assert r.status == 418 and r.body == b'short and stout'
    assert ('x-custom', 'yes') in r.headers
    assert [v for k, v in r.headers if k == 'set-cookie'] == ['a=1', 'b=2']


def test_a_location_without_status_is_a_redirect(site):
    r = simple_request(site.p_main, '/moved.php')
    assert r.status == 302 and dict(r.headers)['location'] == '/elsewhere'


def test_a_php_error_is_a_500_and_its_stderr_is_logged(site):
    r = simple_request(site.p_main, '/broken.php')
    assert r.status == 500
    deadline = time.monotonic() + 5
    while 'about to fail' not in site.proc.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert 'about to fail' in site.proc.log()


def test_a_missing_script_is_php_fpms_404(site):
    r = simple_request(site.p_main, '/nothing-here.php')
    assert r.status == 404


def test_a_long_response_streams_back_whole(site):
    r = simple_request(site.p_main, '/big.php', timeout=10)
    assert r.status == 200 and len(r.body) == 200000
    assert r.body[:1000] == b'A' * 1000 and r.body[-1000:] == bytes([65 + 199 % 26]) * 1000


def test_a_directory_gets_its_index_and_dot_segments_stay_in_the_root(site):
    r = simple_request(site.p_main, '/')
    assert r.status == 200 and r.text == 'the index of /index.php'
    r = simple_request(site.p_main, '/../../%2e%2e/echo.php')
    assert r.status == 200 and fields(r)['SCRIPT_NAME'] == '/echo.php'


def test_one_script_for_every_path(site):
    r = simple_request(site.p_front, '/any/route?a=5')
    assert r.status == 200 and fields(r)['GET_a'] == '5' and fields(r)['REQUEST_URI'] == '/any/route?a=5'


def test_a_head_of_params_is_sent_as_it_is(site):
    r = simple_request(site.p_params, '/whatever?a=ignored', 'POST', body=b'12345')
    f = fields(r)
    assert r.status == 200 and f['REQUEST_METHOD'] == 'PUT' and f['GET_a'] == 'given' and f['length'] == '5'
    assert f['HTTP_HOST'] == '-' and f['REQUEST_URI'] == '-'


def test_a_cgi_head_over_max_header_size_is_a_502(site):
    assert simple_request(site.p_small, '/echo.php').status == 502


def opened_connections(site):
    return int(simple_request(site.p_stats, '/').text)


def test_many_concurrent_requests_share_a_few_connections(site):
    def one(i):
        body = b'%d' % i * (i % 7 + 1)
        r = simple_request(site.p_main, '/echo.php?a=%d' % i, 'POST', body=body, timeout=20)
        return i, r.status, fields(r), body
    before = opened_connections(site)
    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        results = list(ex.map(one, range(200)))
    for i, status, f, body in results:
        assert status == 200 and f['GET_a'] == str(i) and f['md5'] == hashlib.md5(body).hexdigest()
    # 16 clients at once, 200 requests: no more connections were opened than mux_fastcgi's max_connections (5), each
    # carrying many requests; the requests beyond them waited for one to come free.
    assert opened_connections(site) - before <= 5


def test_keep_alive_connections_are_reused(site):
    before = opened_connections(site)
    pids = set()
    with RawClient(site.p_main) as c:
        for _ in range(10):
            c.send(b'GET /echo.php HTTP/1.1\r\nHost: x\r\n\r\n')
            pids.add(fields(c.read_response())['pid'])
    assert opened_connections(site) - before <= 1
    # One request at a time over one pooled connection: one php-fpm worker answers them all.
    assert len(pids) == 1


def test_max_messages_closes_a_connection_after_that_many(site):
    with RawClient(site.p_front) as c:
        for _ in range(5):
            c.send(b'GET /x HTTP/1.1\r\nHost: x\r\n\r\n')
            assert c.read_response().status == 200


def test_an_application_that_is_down_is_a_502(site):
    r = simple_request(site.p_down, '/echo.php')
    assert r.status == 502
    assert simple_request(site.p_main, '/echo.php').status == 200     # (the others are not touched)


def test_an_application_that_is_not_fastcgi_is_a_502(tmp_path, run_pipyx):
    port, fake = free_port(), free_port()
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(('127.0.0.1', fake))
    srv.listen(4)
    p = run_pipyx('''
        from pipyx import pipy
        pipy().listen('127.0.0.1:%d').demux_http().to(
            lambda p: p.mux_fastcgi(root='/tmp').to(lambda p: p.connect('127.0.0.1:%d')))
        ''' % (port, fake), port=port)
    import threading

    def serve():
        conn, _ = srv.accept()
        conn.recv(65536)
        conn.sendall(b'HTTP/1.1 200 OK\r\n\r\n')
        time.sleep(0.5)
        conn.close()
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        assert simple_request(port, '/x.php').status == 502
        assert 'not FastCGI' in p.log() or 'FastCGI' in p.log()
    finally:
        t.join(2)
        srv.close()
