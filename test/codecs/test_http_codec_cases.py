"""The HTTP/1.x codec on examples: responses without bodies, and the RFC 9112 specifics of requests. (The
encoders on the messages a script makes: test/filters/test_http_codec.py.)
"""
import pytest

from pipyx import Data, MessageEnd, MessageStart, StreamEnd
from test.codecs.http_support import assert_refused, assert_well_formed, decode, decoder, messages, normalize


# --------------------------------------------------------------------------------- responses: framing without a body

@pytest.mark.parametrize('status', [204, 304])
def test_bodiless_status_ends_at_head(status):
    raw = (b'HTTP/1.1 %d X\r\nContent-Length: 5\r\n\r\n' % status) + b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'
    events = decode(raw, 'response')
    msgs, ends = messages(events)
    assert [(m[0].status, m[1]) for m in msgs] == [(status, b''), (200, b'ok')]
    assert ends == [None]


def test_bodiless_status_without_length_does_not_read_until_close():
    p, c = decoder('response')
    p.input(Data(b'HTTP/1.1 204 No Content\r\n\r\n'))
    assert normalize(c.events)[-1] == ('end', None)


def test_interim_responses_are_skipped():
    raw = (b'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n'
           b'HTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nnew')
    msgs, ends = messages(decode(raw, 'response'))
    assert [(m[0].status, m[0].status_text, m[1]) for m in msgs] == [(201, 'Created', b'new')]


@pytest.mark.parametrize('cut', [None, 30, 45])
def test_response_to_head_has_no_body(cut):
    # bodiless() is asked before each response, however the bytes of the responses are cut into Data events.
    flags = iter([True, False])
    raw = (b'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n'
           b'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody')
    pieces = [raw] if cut is None else [raw[:cut], raw[cut:]]
    events = decode(raw, 'response', pieces=pieces, bodiless=lambda: next(flags, False))
    msgs, ends = messages(events)
    assert [(m[0].status, m[0].content_length, m[1]) for m in msgs] == [(200, 10, b''), (200, 4, b'body')]
    assert ends == [None]


def test_response_to_head_one_data_event_per_response():
    flags = iter([True, False])
    p, c = decoder('response', bodiless=lambda: next(flags))
    p.input(Data(b'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n'))
    p.input(Data(b'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody'))
    p.input(StreamEnd())
    msgs, ends = messages(c.events)
    assert [(m[0].status, m[1]) for m in msgs] == [(200, b''), (200, b'body')]


def test_until_close_response_ends_with_stream_end():
    events = decode(b'HTTP/1.0 200 OK\r\n\r\nsome', 'response', pieces=[b'HTTP/1.0 200 OK\r\n\r\nsome', b' more'])
    assert normalize(events) == [('start', ('response', 200, 'OK', 'HTTP/1.0', {})), ('data', b'some more'),
                                 ('end', None), ('stream_end', None)]


def test_response_with_unknown_transfer_coding_reads_until_close():
    # A response whose transfer coding is not chunked is delimited by the end of the connection (RFC 9112 6.3).
    events = decode(b'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzzz', 'response')
    assert [x for x in normalize(events) if x[0] != 'start'] == [('data', b'zzz'), ('end', None), ('stream_end', None)]


def test_response_status_line_without_reason():
    for raw in (b'HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n', b'HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n'):
        msgs, ends = messages(decode(raw, 'response'))
        assert [(m[0].status, m[0].status_text) for m in msgs] == [(200, '')]


@pytest.mark.parametrize('raw', [
    b'HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n',
    b'HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n',
    b'HTTP/1.1 abc OK\r\nContent-Length: 0\r\n\r\n',
    b'HTTP/1.1 099 Low\r\nContent-Length: 0\r\n\r\n',
    b'HTTP/1.1  200 OK\r\nContent-Length: 0\r\n\r\n',
    b'ICY 200 OK\r\nContent-Length: 0\r\n\r\n',
    b'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    b'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
    b'HTTP/1.1 200 OK\r\nX: a\r\n  folded\r\nContent-Length: 0\r\n\r\n',
])
def test_malformed_responses_end_with_protocol_error(raw):
    events = decode(raw, 'response')
    assert_refused(events)


def test_bad_chunk_in_response():
    events = decode(b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\nzz\r\n', 'response')
    assert_well_formed(events)
    assert [x for x in normalize(events) if x[0] != 'start'][:2] == [('data', b'ok'), ('stream_end', 'ProtocolError')]


# ------------------------------------------------------------------------------------- RFC 9112 specifics (requests)

def one_request(raw, **options):
    events = decode(raw, **options)
    msgs, ends = messages(events)
    assert ends == [None], events
    assert len(msgs) == 1, events
    return msgs[0]


def test_chunk_extensions_are_ignored():
    h, body = one_request(b'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n'
                          b'5;name=value\r\nhello\r\n6 ; q="a;b"\r\n world\r\n0;last\r\n\r\n')
    assert body == b'hello world'


def test_chunk_size_hex_digits_any_case():
    _, body = one_request(b'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n'
                          b'a\r\n0123456789\r\nA\r\nabcdefghij\r\n00\r\n\r\n')
    assert body == b'0123456789abcdefghij'


def test_trailers_are_skipped():
    raw = (b'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n'
           b'2\r\nhi\r\n0\r\nX-Checksum: 1234\r\nX-Other: z\r\n\r\n'
           b'GET /after HTTP/1.1\r\nHost: a\r\n\r\n')
    msgs, ends = messages(decode(raw))
    assert [(m[0].path, m[1]) for m in msgs] == [('/', b'hi'), ('/after', b'')]
    assert 'x-checksum' not in msgs[0][0].headers
    assert ends == [None]


def test_transfer_encoding_with_earlier_codings_ends_with_chunked():
    _, body = one_request(b'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n'
                          b'3\r\nabc\r\n0\r\n\r\n')
    assert body == b'abc'


@pytest.mark.parametrize('raw', [
    # Content-Length and Transfer-Encoding together
    b'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    b'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    # obs-fold
    b'GET / HTTP/1.1\r\nHost: a\r\nX-Long: first\r\n second\r\n\r\n',
    b'GET / HTTP/1.1\r\nHost: a\r\nX-Long: first\r\n\tsecond\r\n\r\n',
    # differing duplicate Content-Length
    b'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
    # malformed Content-Length
    b'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc',
    b'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3x\r\n\r\nabc',
    b'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n',
    b'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n',
    b'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n',
    # whitespace between field name and colon
    b'GET / HTTP/1.1\r\nHost: a\r\nX-A : b\r\n\r\n',
    b'GET / HTTP/1.1\r\nHost : a\r\n\r\n',
    # chunked not the final coding of a request
    b'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    # Transfer-Encoding in HTTP/1.0
    b'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    # Host missing or repeated in HTTP/1.1
    b'GET / HTTP/1.1\r\nX-A: b\r\n\r\n',
    b'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n',
    # bare CR or NUL inside a field value
    b'GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n',
    b'GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x00c\r\n\r\n',
])
def test_ambiguous_request_heads_are_rejected(raw):
    events = decode(raw)
    assert not any(isinstance(e, MessageStart) for e in events), events
    assert_refused(events)


def test_identical_duplicate_content_length_is_accepted():
    _, body = one_request(b'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc')
    assert body == b'abc'


@pytest.mark.parametrize('chunked', [
    b'x\r\nabc\r\n0\r\n\r\n',                  # not hex
    b'\r\nabc\r\n0\r\n\r\n',                   # empty size line
    b';ext\r\nabc\r\n0\r\n\r\n',               # extension without a size
    b'3\r\nabcd\r\n0\r\n\r\n',                 # data longer than its size
    b'3\r\nabc0\r\n\r\n',                      # no CRLF after the data
    b'fffffffffffffffffff\r\n',               # size overflow
])
def test_bad_chunks_are_rejected(chunked):
    raw = b'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n' + chunked
    events = decode(raw)
    assert_well_formed(events)
    assert [e.error for e in events if isinstance(e, StreamEnd)][:1] == ['ProtocolError'], events
    assert not any(isinstance(e, MessageEnd) for e in events)


def test_lf_only_line_endings_are_accepted():
    h, body = one_request(b'POST /lf HTTP/1.1\nHost: a\nX-A: 1\nContent-Length: 2\n\nhi')
    assert (h.method, h.path, dict(h.headers), body) == ('POST', '/lf', {'host': 'a', 'x-a': '1',
                                                                         'content-length': '2'}, b'hi')
    h, body = one_request(b'POST /lf HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n2\nhi\n0\n\n')
    assert body == b'hi'


def test_mixed_line_endings_are_accepted():
    h, _ = one_request(b'GET /m HTTP/1.1\r\nHost: a\nX-A: 1\r\n\n')
    assert dict(h.headers) == {'host': 'a', 'x-a': '1'}


@pytest.mark.parametrize('prefix', [b'\r\n', b'\n', b'\r\n\r\n', b'\n\n', b'\r\n\r\n\r\n'])
def test_empty_lines_before_a_request_are_ignored(prefix):
    h, _ = one_request(prefix + b'GET /x HTTP/1.1\r\nHost: a\r\n\r\n')
    assert h.path == '/x'


@pytest.mark.parametrize('prefix', [b'\r\n', b'\r\n\r\n'])
def test_empty_lines_between_pipelined_requests_are_ignored(prefix):
    raw = b'POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx' + prefix + b'GET /b HTTP/1.1\r\nHost: a\r\n\r\n'
    msgs, ends = messages(decode(raw))
    assert [m[0].path for m in msgs] == ['/a', '/b']
    assert ends == [None]
    for i in range(1, len(raw)):
        assert normalize(decode(raw, pieces=[raw[:i], raw[i:]])) == normalize(decode(raw)), i


def test_header_values_are_trimmed_and_repeats_joined():
    h, _ = one_request(b'GET / HTTP/1.1\r\nHost: a\r\nX-A:   spaced out \t \r\nX-B: 1\r\nx-b: 2\r\n'
                       b'Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n')
    assert h.headers['x-a'] == 'spaced out'
    assert h.headers['X-B'] == '1, 2'
    assert h.headers['set-cookie'] == ['a=1', 'b=2']


def test_head_properties():
    h, _ = one_request(b'OPTIONS * HTTP/1.0\r\nConnection: keep-alive\r\nExpect: 100-continue\r\n\r\n')
    assert (h.method, h.path, h.protocol, h.version) == ('OPTIONS', '*', 'HTTP/1.0', 10)
    assert h.keep_alive and h.expect_continue
    h, _ = one_request(b'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
    assert not h.keep_alive
    h, _ = one_request(b'GET / HTTP/1.0\r\n\r\n')
    assert not h.keep_alive


def test_request_without_body_framing_has_no_body():
    raw = b'POST /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n'
    msgs, _ = messages(decode(raw))
    assert [(m[0].path, m[1]) for m in msgs] == [('/a', b''), ('/b', b'')]


def test_truncated_body_is_not_a_complete_message():
    events = decode(b'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc')
    assert not any(isinstance(e, MessageEnd) for e in events)
    assert isinstance(events[-1], StreamEnd)


def test_limits():
    big = b'GET / HTTP/1.1\r\nHost: a\r\nX-Big: ' + b'v' * 300 + b'\r\n\r\n'
    assert len(one_request(big)[0].headers['x-big']) == 300
    assert_refused(decode(big, max_header_size=200))
    # a head that never ends, past the limit, is refused without waiting for its end
    p, c = decoder(max_header_size=100)
    p.input(Data(b'GET / HTTP/1.1\r\nX: ' + b'v' * 200))
    assert_refused(c.events)
    many = b'GET / HTTP/1.1\r\nHost: a\r\n' + b''.join(b'X-%d: v\r\n' % i for i in range(10)) + b'\r\n'
    assert_refused(decode(many, max_header_count=5))
    assert len(one_request(many, max_header_count=11)[0].headers) == 11
    long_line = b'GET /' + b'p' * 100 + b' HTTP/1.1\r\nHost: a\r\n\r\n'
    assert_refused(decode(long_line, max_line_size=50))
    body = b'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world'
    assert_refused(decode(body, max_body_size=10))
    assert one_request(body, max_body_size=11)[1] == b'hello world'
    chunked = b'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n'
    events = decode(chunked, max_body_size=10)
    assert [e.error for e in events if isinstance(e, StreamEnd)][:1] == ['ProtocolError']
    assert not any(isinstance(e, MessageEnd) for e in events)
