"""demux_http (and serve_http alike, see SERVERS): requests over the limits, malformed and smuggled ones are refused
and the connection closed; an error in the callback answers 500. Requests and answers that go through are tested
in test_serve_http.py, against both filters too.
"""
import pytest

from test.filters.serve_http_support import SERVERS, SMALL, assert_works, server, srv  # noqa: F401  (fixtures)
from test.helpers import RawClient, req, simple_request


# ------------------------------------------------------------------------------------------------------------ limits

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


# --------------------------------------------------------------------------------------------------------- smuggling

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
def test_http2_preface_starts_http2(server, which):
    # The HTTP/2 preface makes the connection HTTP/2 (test_http2_server.py): the server's SETTINGS come first.
    with RawClient(server.ports[which]) as c:
        c.send(b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')
        head = c._read_exact(9)
        assert head[3] == 4 and head[4] == 0          # SETTINGS, not an acknowledgement
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


# --------------------------------------------------------------------------------------------------- callback errors

def test_demux_callback_exception_500(server):
    r = simple_request(server.p_demux, '/raise')
    assert r.status == 500
    assert_works(server.p_demux)
