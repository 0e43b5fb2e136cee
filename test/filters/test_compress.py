"""compress, decompress, compress_http, decompress_http: bodies and streams through gzip, deflate and brotli (round
trips split anywhere, bombs, corrupt bytes), and a pipyx proxy compressing the responses of a real upstream for
curl, checked with the gzip and brotli command line tools."""
import asyncio
import gzip
import logging
import subprocess
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import brotli
import pytest
from hypothesis import given, settings, strategies as st

from pipyx import Data, MessageEnd, MessageStart, ResponseHead, StreamEnd
from pipyx.config import ScriptError
from pipyx.testing import pipeline
from test.helpers import RawClient, free_port, lacks, missing_peer, req
from test.helpers.streams import feed, split_at, summary, until

TEXT = b''.join(b'{"id": %d, "name": "item %d", "tags": ["a", "b"]},\n' % (i, i * 7) for i in range(400))

UNDO = {'gzip': lambda b: gzip.decompress(b), 'deflate': zlib.decompress, 'br': brotli.decompress}
DO = {'gzip': lambda b: gzip.compress(b, mtime=0), 'deflate': zlib.compress, 'br': brotli.compress}


def body_of(events):
    return b''.join(e.to_bytes() for e in events if isinstance(e, Data))


def pieces(data, cuts):
    return [Data(p) for p in split_at(data, cuts) if p]


# -- compress and decompress in a pipeline -----------------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(method=st.sampled_from(['gzip', 'deflate', 'br']), body=st.binary(max_size=3000) | st.just(TEXT),
       cuts=st.lists(st.integers(min_value=0, max_value=30000), max_size=8), level=st.sampled_from([1, 2, 'default']))
def test_a_body_split_anywhere_compresses_to_what_the_reference_decoder_reads_back(method, body, cuts, level):
    p, c = pipeline(lambda p: p.compress(method, level=level))
    feed(p, [MessageStart({'n': 1})] + pieces(body, cuts) + [MessageEnd(), StreamEnd()])
    assert summary(c.events)[0] == ('start', {'n': 1})
    assert summary(c.events)[-2:] == [('end', None), ('stream_end', None)]
    assert UNDO[method](body_of(c.events)) == body


@settings(max_examples=40, deadline=None)
@given(method=st.sampled_from(['gzip', 'deflate', 'br']), body=st.binary(max_size=3000) | st.just(TEXT),
       cuts=st.lists(st.integers(min_value=0, max_value=3000), max_size=8))
def test_compressed_bytes_split_anywhere_decompress_to_the_body(method, body, cuts):
    p, c = pipeline(lambda p: p.decompress(method))
    feed(p, [MessageStart()] + pieces(DO[method](body), cuts) + [MessageEnd(), StreamEnd()])
    assert body_of(c.events) == body
    assert summary(c.events)[-1] == ('stream_end', None)


def test_each_message_is_compressed_on_its_own_and_data_outside_messages_as_one_stream():
    p, c = pipeline(lambda p: p.compress('gzip'))
    feed(p, [MessageStart(1), Data(b'first ' * 50), MessageEnd(), MessageStart(2), Data(b'second'), MessageEnd(),
             Data(b'loose '), Data(b'bytes'), StreamEnd()])
    out = summary(c.events)
    assert [k for k, _ in out] == ['start', 'data', 'end', 'start', 'data', 'end', 'data', 'stream_end']
    assert gzip.decompress(out[1][1]) == b'first ' * 50
    assert gzip.decompress(out[4][1]) == b'second'
    assert gzip.decompress(out[6][1]) == b'loose bytes'


def test_raw_deflate_and_concatenated_gzip_members_decompress_too():
    raw = zlib.compressobj(6, zlib.DEFLATED, -15)
    p, c = pipeline(lambda p: p.decompress('inflate'))
    feed(p, [Data(raw.compress(TEXT) + raw.flush()), StreamEnd()])
    assert body_of(c.events) == TEXT
    p, c = pipeline(lambda p: p.decompress('gzip'))
    feed(p, [Data(gzip.compress(b'one ') + gzip.compress(b'two')), StreamEnd()])
    assert body_of(c.events) == b'one two'


def test_a_method_given_as_a_callable_is_asked_per_body_and_none_leaves_it_alone():
    methods = iter(['br', None, 'gzip'])
    p, c = pipeline(lambda p: p.compress(lambda: next(methods)))
    feed(p, [MessageStart(), Data(TEXT), MessageEnd(), MessageStart(), Data(b'plain'), MessageEnd(),
             MessageStart(), Data(TEXT), MessageEnd(), StreamEnd()])
    bodies = [e for k, e in summary(c.events) if k == 'data']
    assert brotli.decompress(bodies[0]) == TEXT and bodies[1] == b'plain' and gzip.decompress(bodies[2]) == TEXT


def test_a_callable_method_naming_no_coding_ends_that_stream_with_a_runtime_error():
    p, c = pipeline(lambda p: p.compress(lambda: 'zip'))
    feed(p, [MessageStart(), Data(b'x'), MessageEnd(), StreamEnd()])
    assert summary(c.events)[-1] == ('stream_end', 'RuntimeError')


def test_script_errors_name_the_option():
    with pytest.raises(ScriptError, match='unknown method'):
        pipeline(lambda p: p.compress('zip'))
    with pytest.raises(ScriptError, match='level'):
        pipeline(lambda p: p.compress('gzip', level=12))
    with pytest.raises(ScriptError, match='max_size'):
        pipeline(lambda p: p.decompress('gzip', max_size=-1))
    with pytest.raises(ScriptError, match='unknown method'):
        pipeline(lambda p: p.compress_http(['gzip', 'lzma']))


@pytest.mark.parametrize('method', ['gzip', 'br'])
def test_a_zip_bomb_ends_its_stream_after_max_size_with_a_log_line(method, caplog):
    bomb = DO[method](bytes(32 << 20))                     # 32 MiB of zeros, a few KiB compressed
    assert len(bomb) < 64 << 10
    p, c = pipeline(lambda p: p.decompress(method, max_size=1 << 20))
    with caplog.at_level(logging.WARNING, logger='pipyx.compress'):
        feed(p, [MessageStart(), Data(bomb), MessageEnd(), StreamEnd()])
    assert len(body_of(c.events)) == 0                   # nothing of the refused piece goes on
    assert summary(c.events)[-1] == ('stream_end', 'BufferOverflow')
    assert sum(isinstance(e, StreamEnd) for e in c.events) == 1
    assert 'over the limit of 1048576 bytes (max_size)' in caplog.text


@pytest.mark.parametrize('method', ['gzip', 'deflate', 'br'])
def test_corrupt_and_cut_short_input_end_the_stream_as_a_protocol_error(method, caplog):
    good = DO[method](TEXT)
    for bad in (good[:len(good) // 2], good[:20] + b'\xff' * 40 + good[60:], b'not compressed at all, not at all'):
        p, c = pipeline(lambda p: p.decompress(method))
        with caplog.at_level(logging.WARNING, logger='pipyx.compress'):
            feed(p, [MessageStart(), Data(bad), MessageEnd(), Data(b'after'), StreamEnd()])
        assert summary(c.events)[-1] == ('stream_end', 'ProtocolError'), bad
        assert not any(isinstance(e, MessageEnd) for e in c.events)
    assert 'decompress' in caplog.text and 'the stream ends (ProtocolError)' in caplog.text


def test_what_came_in_one_read_goes_out_compressed_without_waiting_for_the_end():
    # Outside a socket read, the flush comes at the end of the loop's turn: a streamed body is never held back.
    async def main():
        p, c = pipeline(lambda p: p.compress('gzip'))
        feed(p, [MessageStart(), Data(b'event: one\n\n')])
        await until(lambda: body_of(c.events))
        return c

    c = asyncio.run(main())
    d = zlib.decompressobj(31)
    assert d.decompress(body_of(c.events)) == b'event: one\n\n'


# -- compress_http and decompress_http in a pipeline -------------------------------------------------------------

def respond(p, head, body=TEXT, ae='gzip, br'):
    feed(p, [MessageStart(head), Data(body), MessageEnd(), StreamEnd()])


def test_compress_http_without_a_request_uses_its_first_method_and_marks_the_head():
    p, c = pipeline(lambda p: p.compress_http('gzip'))
    respond(p, {'status': 200, 'headers': {'content-type': 'application/json', 'etag': '"v1"'}})
    head = c.events[0].head
    assert isinstance(head, ResponseHead)
    assert (head.headers['content-encoding'], head.headers['vary'], head.headers['etag']) == \
        ('gzip', 'Accept-Encoding', 'W/"v1"')
    assert gzip.decompress(body_of(c.events)) == TEXT


@pytest.mark.parametrize('accept, expected', [
    ('gzip, deflate, br', 'br'), ('gzip', 'gzip'), ('br;q=0.5, gzip;q=0.8', 'gzip'), ('*', 'br'),
    ('identity', None), ('gzip;q=0, br;q=0', None), ('', None), ('x-gzip', 'gzip'), ('*;q=0, gzip', 'gzip'),
])
def test_compress_http_takes_the_coding_accept_encoding_prefers(accept, expected):
    p, c = pipeline(lambda p: p.compress_http(accept_encoding=accept))
    respond(p, {'status': 200, 'headers': {'content-type': 'text/html; charset=utf-8'}})
    h = c.events[0].head.headers
    assert h.get('content-encoding') == expected
    assert h['vary'] == 'Accept-Encoding'
    body = body_of(c.events)
    assert (UNDO[expected](body) if expected else body) == TEXT


@pytest.mark.parametrize('head, body', [
    ({'status': 204, 'headers': {'content-type': 'text/plain'}}, b''),
    ({'status': 206, 'headers': {'content-type': 'text/plain', 'content-range': 'bytes 0-9/100'}}, TEXT),
    ({'status': 200, 'headers': {'content-type': 'text/plain', 'content-encoding': 'br'}}, TEXT),
    ({'status': 200, 'headers': {'content-type': 'text/plain', 'cache-control': 'public, no-transform'}}, TEXT),
    ({'status': 200, 'headers': {'content-type': 'image/png'}}, TEXT),
    ({'status': 200, 'headers': {}}, TEXT),
    ({'status': 200, 'headers': {'content-type': 'text/plain'}}, b'tiny'),
])
def test_compress_http_leaves_alone_what_must_not_or_need_not_be_compressed(head, body):
    p, c = pipeline(lambda p: p.compress_http(accept_encoding='gzip'))
    respond(p, head, body)
    assert 'content-encoding' not in c.events[0].head.headers or head['headers'].get('content-encoding')
    assert body_of(c.events) == body


def test_compress_http_types_and_min_size_are_settable():
    p, c = pipeline(lambda p: p.compress_http('gzip', types=['application/x-custom', 'image/*'], min_size=0,
                                              accept_encoding='gzip'))
    for ct in ('application/x-custom', 'image/png', 'text/html'):
        respond(p, {'status': 200, 'headers': {'content-type': ct}}, b'ab')
    assert [e.head.headers.get('content-encoding') for e in c.events if isinstance(e, MessageStart)] == \
        ['gzip', 'gzip', None]


def test_decompress_http_undoes_the_coding_and_takes_it_out_of_the_head():
    for coding in ('gzip', 'deflate', 'br'):
        p, c = pipeline(lambda p: p.decompress_http())
        respond(p, {'status': 200, 'headers': {'content-encoding': coding, 'content-length': '10', 'etag': '"x"'}},
                DO[coding](TEXT))
        h = c.events[0].head['headers']
        assert h == {'etag': 'W/"x"'} and body_of(c.events) == TEXT
    p, c = pipeline(lambda p: p.decompress_http(lambda: False))
    respond(p, {'status': 200, 'headers': {'content-encoding': 'gzip'}}, DO['gzip'](TEXT))
    assert c.events[0].head['headers'] == {'content-encoding': 'gzip'} and body_of(c.events) == DO['gzip'](TEXT)


# -- a proxy in front of a real upstream, for curl -----------------------------------------------------------------

class Origin(BaseHTTPRequestHandler):
    """The upstream: /any?ct=...&cc=...&ce=...&status=...&size=...&etag=...&chunked=1&pause=1 answers TEXT (or
    `size` bytes of it) with those headers, gzipped with gz=1 (bomb=1: 64 MiB of zeros gzipped); pause sends half, then waits until the test lets it go on."""
    protocol_version = 'HTTP/1.1'
    go_on = threading.Event()

    def log_message(self, *a):
        pass

    def do_HEAD(self):
        self.do_GET(head=True)

    def do_GET(self, head=False):
        q = {k: v[0] for k, v in parse_qs(self.path.partition('?')[2]).items()}
        body = (TEXT * 20)[:int(q.get('size', len(TEXT)))]
        if 'bomb' in q:
            body = gzip.compress(bytes(64 << 20), compresslevel=1)
        elif 'gz' in q:
            body = gzip.compress(body)
        status = int(q.get('status', 200))
        self.send_response(status)
        self.send_header('Content-Type', q.get('ct', 'application/json'))
        for k in ('cc', 'ce', 'etag', 'vary'):
            if k in q:
                self.send_header({'cc': 'Cache-Control', 'ce': 'Content-Encoding', 'etag': 'ETag',
                                  'vary': 'Vary'}[k], q[k])
        if 'bomb' in q or 'gz' in q:
            self.send_header('Content-Encoding', 'gzip')
        if status in (204, 304):
            self.end_headers()
            return
        if 'chunked' not in q:
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)
            return
        self.send_header('Transfer-Encoding', 'chunked')
        self.end_headers()
        if head:
            return
        half = len(body) // 2
        for i, part in enumerate((body[:half], body[half:])):
            self.wfile.write(b'%x\r\n%s\r\n' % (len(part), part))
            self.wfile.flush()
            if i == 0 and 'pause' in q:
                Origin.go_on.wait(10)
        self.wfile.write(b'0\r\n\r\n')


@pytest.fixture
def origin():
    server = ThreadingHTTPServer(('127.0.0.1', free_port()), Origin)
    server.daemon_threads = True
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    Origin.go_on.clear()
    yield server.server_address[1]
    Origin.go_on.set()
    server.shutdown()
    server.server_close()


PROXY = '''
from pipyx import pipy
pipy().listen('127.0.0.1:%(port)d').demux_http().to(lambda p: p
    .mux_http().to(lambda p: p.connect('127.0.0.1:%(origin)d'))
    .%(filter)s)
'''


@pytest.fixture
def proxy(run_pipyx, origin):
    def start(filter='compress_http()'):
        port = free_port()
        return port, run_pipyx(PROXY % {'port': port, 'origin': origin, 'filter': filter}, port=port)
    return start


def curl(port, path, *args, head=False):
    """curl's answer: (headers by lower-case name, raw body bytes)."""
    if lacks('curl'):
        missing_peer('curl is not installed')
    r = subprocess.run(['curl', '-sS', '--max-time', '10', '-D', '-', '-o', '-', *args,
                        'http://127.0.0.1:%d%s' % (port, path)], capture_output=True, timeout=15, check=True)
    head, _, body = r.stdout.partition(b'\r\n\r\n')
    headers = {}
    for line in head.decode('latin-1').split('\r\n')[1:]:
        k, _, v = line.partition(':')
        headers[k.strip().lower()] = v.strip()
    headers[':status'] = int(head.split(b' ')[1])
    return headers, body


def tool(argv, data):
    """The bytes a command line tool (gzip, brotli) writes for `data`."""
    if lacks(argv[0]):
        missing_peer('%s is not installed (scripts/setup --test installs it)' % argv[0])
    return subprocess.run(argv, input=data, capture_output=True, timeout=15, check=True).stdout


def test_curl_compressed_gets_gzip_and_the_gzip_tool_reads_it(proxy):
    port, _ = proxy('compress_http(level=1)')
    h, raw = curl(port, '/data.json?etag="abc"', '-H', 'Accept-Encoding: gzip')
    assert h['content-encoding'] == 'gzip' and h['vary'] == 'Accept-Encoding' and h['etag'] == 'W/"abc"'
    assert int(h['content-length']) == len(raw) < len(TEXT) // 3      # it all came in one read
    assert tool(['gzip', '-dc'], raw) == TEXT
    h, body = curl(port, '/data.json', '--compressed')                 # curl decodes what it negotiated
    assert body == TEXT


def test_curl_asking_for_br_gets_brotli_that_the_brotli_tool_reads(proxy):
    port, _ = proxy()
    h, raw = curl(port, '/page?ct=text/html;%20charset=utf-8', '-H', 'Accept-Encoding: br')
    assert h['content-encoding'] == 'br'
    assert tool(['brotli', '-dc'], raw) == TEXT


def test_a_streamed_response_goes_out_compressed_and_chunked_piece_by_piece(proxy):
    port, _ = proxy('compress_http("gzip")')
    with RawClient(port, timeout=10) as c:
        c.send(req('/stream?chunked=1&pause=1&size=%d' % (len(TEXT) * 10), headers=[('Accept-Encoding', 'gzip')]))
        headers = dict(c.read_head()[3])
        assert headers['transfer-encoding'] == 'chunked' and headers['content-encoding'] == 'gzip'
        d = zlib.decompressobj(31)
        seen = b''
        while len(seen) < len(TEXT) * 5:     # the first half reaches the client while the upstream waits
            size = int(c._read_until(b'\r\n').strip(), 16)
            seen += d.decompress(c._read_exact(size + 2)[:-2])
        Origin.go_on.set()
        while True:
            size = int(c._read_until(b'\r\n').strip(), 16)
            piece = c._read_exact(size + 2)[:-2]
            if size == 0:
                break
            seen += d.decompress(piece)
    assert seen == (TEXT * 20)[:len(TEXT) * 10] and d.eof


@pytest.mark.parametrize('path, headers', [
    ('/x', [('Accept-Encoding', 'gzip')], ),                                       # HEAD, below
    ('/x?status=204', [('Accept-Encoding', 'gzip')]),
    ('/x?status=304', [('Accept-Encoding', 'gzip')]),
    ('/x?status=206', [('Accept-Encoding', 'gzip')]),
    ('/x?ce=br', [('Accept-Encoding', 'gzip')]),
    ('/x?cc=no-transform', [('Accept-Encoding', 'gzip')]),
    ('/x?ct=image/png', [('Accept-Encoding', 'gzip')]),
    ('/x?size=100', [('Accept-Encoding', 'gzip')]),
    ('/x', [('Accept-Encoding', 'identity')]),
    ('/x', []),
])
def test_the_proxy_passes_untouched_what_it_must_not_compress(proxy, path, headers):
    port, _ = proxy()
    method = 'HEAD' if path == '/x' and headers == [('Accept-Encoding', 'gzip')] else 'GET'
    with RawClient(port) as c:
        c.send(req(path, method=method, headers=headers))
        r = c.read_response(head_request=method == 'HEAD')
    assert not r.has('content-encoding') or '?ce=' in path
    if r.status == 200 and method == 'GET':
        assert r.body == (TEXT * 20)[:len(r.body)] and r.header('content-length') == str(len(r.body))


def test_decompress_http_undoes_an_upstream_gzip_and_a_bomb_costs_only_its_stream(proxy):
    port, p = proxy('decompress_http(max_size=1 << 20)')
    with RawClient(port) as c:
        c.send(req('/x?ce=gzip&size=0'))           # an empty body with a coding: nothing to undo
        r = c.read_response()
        assert r.status == 200 and not r.has('content-encoding')
    with RawClient(port) as c:
        c.send(req('/bomb?bomb=1'))
        r = c.read_response()
        assert r.status == 502, r                  # the refused body had not begun: the client gets an answer
        c.send(req('/x'))
        assert c.read_response().body == TEXT      # and the connection goes on
    assert 'decompress_http: gzip: decompressed body over the limit of 1048576 bytes (max_size)' in p.log()
    # The origin's own gzip, undone for a client that did not ask for it.
    h, body = curl(port, '/plain?gz=1')
    assert body == TEXT and 'content-encoding' not in h
