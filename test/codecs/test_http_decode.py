"""The HTTP/1 decoder with bytes alone: no filter, no socket, only HttpDecoder and a recording sink."""
from hypothesis import given, settings, strategies as st

from pipyx._native import HttpDecoder, HttpDecodeLog, HttpLimits

REQUESTS = (
    b'GET /a HTTP/1.1\r\nHost: x\r\n\r\n'
    b'POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello'
    b'PUT /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nX-T: 1\r\n\r\n'
    b'\r\nGET /d HTTP/1.0\r\n\r\n'
)
RESPONSES = (
    b'HTTP/1.1 100 Continue\r\n\r\n'
    b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'
    b'HTTP/1.1 204 No Content\r\n\r\n'
    b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwxyz\r\n0\r\n\r\n'
    b'HTTP/1.1 200 OK\r\n\r\nuntil the connection closes'
)


def decode(data, response_mode=False, cuts=(), limits=None):
    """What a decoder reports for data fed in pieces cut at `cuts`, ended by the peer closing."""
    log = HttpDecodeLog()
    decoder = HttpDecoder(log, response_mode, limits)
    last = 0
    for cut in sorted(set(cuts)) + [len(data)]:
        if cut > last:
            decoder.feed_bytes(data[last:cut])
            last = cut
    decoder.feed_end()
    return [summary(e) for e in log.events]


def summary(event):
    if event[0] == 'head':
        h = event[1]
        line = (h.method, h.path) if hasattr(h, 'method') else (h.status,)
        return ('head',) + line + (tuple(sorted(h.headers.items())),)
    return event


def test_requests_come_out_in_order_with_their_bodies():
    events = decode(REQUESTS)
    assert [e[:3] for e in events if e[0] == 'head'] == [('head', 'GET', '/a'), ('head', 'POST', '/b'),
                                                         ('head', 'PUT', '/c'), ('head', 'GET', '/d')]
    assert [e[1] for e in events if e[0] == 'body'] == [b'hello', b'abcde']
    assert events.count(('end',)) == 4
    assert not [e for e in events if e[0] == 'error']


def test_responses_skip_interim_and_run_until_close():
    events = decode(RESPONSES, response_mode=True)
    assert [e[1] for e in events if e[0] == 'head'] == [200, 204, 200, 200]
    assert [e[1] for e in events if e[0] == 'body'] == [b'ok', b'wxyz', b'until the connection closes']
    assert events.count(('end',)) == 4


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(REQUESTS)), max_size=12))
def test_requests_split_anywhere_decode_the_same(cuts):
    assert decode(REQUESTS, cuts=cuts) == decode(REQUESTS)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(RESPONSES)), max_size=12))
def test_responses_split_anywhere_decode_the_same(cuts):
    assert decode(RESPONSES, response_mode=True, cuts=cuts) == decode(RESPONSES, response_mode=True)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_garbage_ends_in_an_error_or_in_messages_never_an_exception(data, response_mode):
    events = decode(data, response_mode=response_mode)
    errors = [e for e in events if e[0] == 'error']
    assert len(errors) <= 1
    if errors:
        assert events[-1] == errors[0]          # nothing is decoded after an error


def test_limits_are_reported_as_statuses():
    big_head = b'GET / HTTP/1.1\r\nHost: x\r\nX-Big: ' + b'a' * 200 + b'\r\n\r\n'
    assert decode(big_head, limits=HttpLimits(max_header_size=100))[-1] == ('error', 431)
    big_body = b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n'
    assert decode(big_body, limits=HttpLimits(max_body_size=10))[-1] == ('error', 413)
    smuggled = b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n'
    assert decode(smuggled)[-1] == ('error', 400)


def test_a_head_response_has_no_body_when_the_sink_says_so():
    log = HttpDecodeLog(bodiless=True)
    decoder = HttpDecoder(log, True)
    decoder.feed_bytes(b'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n')
    assert [e[0] for e in log.events] == ['head', 'end', 'head', 'end']
