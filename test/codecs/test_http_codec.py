"""Property tests of the HTTP/1.x codec: bytes built from generated messages (never through the encoder under
test) are decoded and compared, then split anywhere, pipelined, mutated, and re-encoded."""
import pytest
from hypothesis import assume, given, strategies as st

from pipyx import Data, MessageEnd, RequestHead, ResponseHead, StreamEnd
from pipyx.testing import pipeline
from test.codecs.http_support import (SETTINGS, assert_ends_once, assert_refused, assert_well_formed, decode, decoder,
                                      expected_events, feed_bytes, fields_st, messages, normalize, reencode_request,
                                      requests, responses, semantic, splits, wire)
from test.helpers.streams import split_at

# ------------------------------------------------------------------ (1) round trip: my bytes -> decode

@SETTINGS
@given(req=requests())
def test_prop_request_decodes_to_what_was_generated(req):
    raw, expected, body = req
    events = decode(raw)
    assert_well_formed(events)
    assert normalize(events) == expected_events([(expected, body)])
    head = events[0].head
    assert isinstance(head, RequestHead)
    # the framing the head tells of
    assert head.chunked == ('transfer-encoding' in expected[4])
    if 'content-length' in expected[4]:
        assert head.content_length == len(body)
    options = {t.strip().lower() for t in expected[4].get('connection', '').split(',')}
    assert head.keep_alive == (('close' not in options) if expected[3] == 'HTTP/1.1' else ('keep-alive' in options))


@SETTINGS
@given(resp=responses())
def test_prop_response_decodes_to_what_was_generated(resp):
    raw, expected, body, framing = resp
    events = decode(raw, 'response')
    assert_well_formed(events)
    assert normalize(events) == expected_events([(expected, body)])
    assert isinstance(events[0].head, ResponseHead)


@SETTINGS
@given(resp=responses(framing='close'))
def test_prop_until_close_response_waits_for_stream_end(resp):
    raw, expected, body, _ = resp
    p, c = decoder('response')
    feed_bytes(p, c, [raw], end=False)
    # no MessageEnd before the connection closes: more body may follow
    assert not any(isinstance(e, (MessageEnd, StreamEnd)) for e in c.events)
    p.input(Data(b'more'))
    p.input(StreamEnd())
    assert normalize(c.events) == expected_events([(expected, body + b'more')])


# ------------------------------------------------------------------ (2) arbitrary splits

@SETTINGS
@given(req=requests(), data=st.data())
def test_prop_request_split_anywhere_decodes_the_same(req, data):
    raw, expected, body = req
    whole = normalize(decode(raw))
    pieces = data.draw(splits(raw))
    events = decode(raw, pieces=pieces)
    assert_well_formed(events)
    assert normalize(events) == whole == expected_events([(expected, body)])


@SETTINGS
@given(resp=responses(), data=st.data())
def test_prop_response_split_anywhere_decodes_the_same(resp, data):
    raw, expected, body, _ = resp
    pieces = data.draw(splits(raw))
    events = decode(raw, 'response', pieces=pieces)
    assert_well_formed(events)
    assert normalize(events) == normalize(decode(raw, 'response')) == expected_events([(expected, body)])


@SETTINGS
@given(req=requests(), data=st.data())
def test_prop_request_in_one_multi_chunk_data(req, data):
    # One Data event made of many chunks is the same as many Data events.
    raw, expected, body = req
    d = Data()
    for piece in data.draw(splits(raw)):
        d.push(piece)
    assert normalize(decode(raw, pieces=[d])) == expected_events([(expected, body)])


def test_every_single_split_point_of_a_chunked_request():
    raw = (b'POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n'
           b'3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nTrailer-Field: x\r\n\r\n'
           b'GET /next HTTP/1.1\r\nHost: h\r\n\r\n')
    whole = normalize(decode(raw))
    assert [x[0] for x in whole] == ['start', 'data', 'end', 'start', 'end', 'stream_end']
    assert whole[1] == ('data', b'abc0123456789abcdef')
    for i in range(1, len(raw)):
        for j in (i + 1, i + 2, len(raw)):
            assert normalize(decode(raw, pieces=split_at(raw, [i, j]))) == whole, (i, j)


# ------------------------------------------------------------------ (3) pipelining

@SETTINGS
@given(reqs=st.lists(requests(), min_size=2, max_size=4), data=st.data())
def test_prop_pipelined_requests(reqs, data):
    raw = b''.join(r[0] for r in reqs)
    want = expected_events([(r[1], r[2]) for r in reqs])
    assert normalize(decode(raw)) == want
    events = decode(raw, pieces=data.draw(splits(raw)))
    assert_well_formed(events)
    assert normalize(events) == want


@st.composite
def bodiless_responses(draw):
    """A 204 or 304 response: it ends at its head, whatever length it tells."""
    status = draw(st.sampled_from([204, 304]))
    fields = list(draw(fields_st))
    if status == 304 and draw(st.booleans()):
        fields.append(('Content-Length', str(draw(st.integers(1, 500)))))
    raw = ('HTTP/1.1 %d X\r\n' % status).encode() + b''.join(
        ('%s: %s\r\n' % f).encode('latin-1') for f in fields) + b'\r\n'
    return raw, ('response', status, 'X', 'HTTP/1.1', {n.lower(): v for n, v in fields}), b'', 'none'


@SETTINGS
@given(first=st.lists(st.one_of(responses(), bodiless_responses()), min_size=1, max_size=3), data=st.data())
def test_prop_pipelined_responses(first, data):
    # every response but the last must be self-delimiting; the last may run until the stream ends
    resps = [r for r in first if r[3] != 'close']
    assume(resps)
    last = data.draw(responses())
    resps.append(last)
    raw = b''.join(r[0] for r in resps)
    want = expected_events([(r[1], r[2]) for r in resps])
    events = decode(raw, 'response', pieces=data.draw(splits(raw)))
    assert_well_formed(events)
    assert normalize(events) == want


# ------------------------------------------------------------------ (4) garbage never escapes

@st.composite
def mutated(draw, source):
    raw = bytearray(draw(source)[0])
    for _ in range(draw(st.integers(1, 4))):
        if not raw:
            raw += draw(st.binary(min_size=1, max_size=4))
            continue
        i = draw(st.integers(0, len(raw) - 1))
        op = draw(st.sampled_from(['flip', 'delete', 'insert', 'duplicate', 'truncate']))
        if op == 'flip':
            raw[i] = draw(st.sampled_from([0, 9, 10, 13, 32, 58, 59, 0x7f, 0xff, ord('0'), ord('f'), ord('-')]))
        elif op == 'delete':
            del raw[i:i + draw(st.integers(1, 8))]
        elif op == 'insert':
            raw[i:i] = draw(st.sampled_from([b'\r\n', b'\n', b' ', b':', b'\r', b'\x00', b'0', b'Content-Length: 3\r\n',
                                             b'Transfer-Encoding: chunked\r\n', b'\r\n\r\n']))
        elif op == 'duplicate':
            raw[i:i] = raw[i:i + draw(st.integers(1, 30))]
        else:
            del raw[i:]
    return bytes(raw)


def _garbage_check(kind, raw, pieces):
    events = decode(raw, kind, pieces=pieces)   # must not raise
    assert_well_formed(events)
    first_end = next(e.error for e in events if isinstance(e, StreamEnd))
    assert first_end in (None, 'ProtocolError'), first_end
    return events


@SETTINGS
@given(raw=st.binary(max_size=300), data=st.data())
def test_prop_random_bytes_never_raise_request(raw, data):
    _garbage_check('request', raw, data.draw(splits(raw)) if raw else [])


@SETTINGS
@given(raw=st.binary(max_size=300), data=st.data())
def test_prop_random_bytes_never_raise_response(raw, data):
    _garbage_check('response', raw, data.draw(splits(raw)) if raw else [])


@SETTINGS
@given(raw=mutated(requests()), data=st.data())
def test_prop_mutated_requests_never_raise(raw, data):
    _garbage_check('request', raw, data.draw(splits(raw)) if raw else [])


@SETTINGS
@given(raw=mutated(responses()), data=st.data())
def test_prop_mutated_responses_never_raise(raw, data):
    _garbage_check('response', raw, data.draw(splits(raw)) if raw else [])


@SETTINGS
@given(raw=mutated(requests()), data=st.data())
def test_prop_mutated_requests_decode_the_same_whatever_the_split(raw, data):
    whole = decode(raw)
    pieces = data.draw(splits(raw)) if raw else []
    assert normalize(decode(raw, pieces=pieces)) == normalize(whole)


@SETTINGS
@given(raw=st.one_of(mutated(requests()), st.binary(max_size=100)), data=st.data())
def test_prop_garbage_ends_the_stream_once_request(raw, data):
    assert_ends_once(_garbage_check('request', raw, data.draw(splits(raw)) if raw else []))


@SETTINGS
@given(raw=st.one_of(mutated(responses()), st.binary(max_size=100)), data=st.data())
def test_prop_garbage_ends_the_stream_once_response(raw, data):
    assert_ends_once(_garbage_check('response', raw, data.draw(splits(raw)) if raw else []))


@pytest.mark.parametrize('raw', [
    b'garbage\r\n\r\n',
    b'\x00\x01\x02\r\n\r\n',
    b'GET\r\n\r\n',
    b'GET / \r\n\r\n',
    b'GET / HTTP/1.1 extra\r\nHost: a\r\n\r\n',
    b' GET / HTTP/1.1\r\nHost: a\r\n\r\n',
    b'GET / HTTP/1.x\r\nHost: a\r\n\r\n',
    b'GET / HTTP/2.0\r\nHost: a\r\n\r\n',
    b'GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n',
    b'GET / HTTP/1.1\r\nHost: a\r\n: empty-name\r\n\r\n',
])
def test_malformed_request_heads_end_with_protocol_error(raw):
    events = decode(raw)
    assert_refused(events)


def test_protocol_error_ends_the_stream_once():
    # After the decoder has ended the stream with ProtocolError, neither more bytes nor the input's own StreamEnd
    # may come out: a stream ends once.
    p, c = decoder()
    p.input(Data(b'BAD REQUEST LINE HERE\r\n\r\n'))
    p.input(Data(b'GET / HTTP/1.1\r\nHost: a\r\n\r\n'))
    p.input(StreamEnd())
    assert normalize(c.events) == [('stream_end', 'ProtocolError')]


def test_message_before_protocol_error_is_delivered():
    raw = b'GET /ok HTTP/1.1\r\nHost: a\r\n\r\nGET /bad HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n'
    events = decode(raw)
    msgs, ends = messages(events)
    assert [m[0].path for m in msgs] == ['/ok']
    assert ends[:1] == ['ProtocolError']
    assert_well_formed(events)


# ------------------------------------------------------------------ (5) encode(decode(x))



@SETTINGS
@given(reqs=st.lists(requests(version='HTTP/1.1'), min_size=1, max_size=3), data=st.data())
def test_prop_encode_decode_request_is_stable(reqs, data):
    raw = b''.join(r[0] for r in reqs)
    first = decode(raw)
    out = reencode_request(raw, data.draw(splits(raw)))
    assert isinstance(out[-1], StreamEnd) and out[-1].error is None
    again = decode(wire(out))
    assert_well_formed(again)
    assert semantic(again) == semantic(first)
    # and it is a fixed point from there on
    assert wire(reencode_request(wire(out))) == wire(out)


@SETTINGS
@given(req=requests(version='HTTP/1.1'))
def test_prop_encoded_request_uses_crlf_only(req):
    raw = req[0]
    out = wire(reencode_request(raw))
    head = out[:out.index(b'\r\n\r\n') + 4] if b'\r\n\r\n' in out else out
    assert b'\n' not in head.replace(b'\r\n', b''), 'bare LF in the encoded head %r' % head


def test_encoded_request_from_lf_only_input_uses_crlf():
    out = wire(reencode_request(b'GET /x HTTP/1.1\nHost: a\nX-A: b\n\n'))
    assert out.endswith(b'\r\n\r\n')
    assert b'\n' not in out.replace(b'\r\n', b''), out


def test_http10_request_without_host_reencodes_to_a_valid_request():
    # The request encoder always speaks HTTP/1.1, where Host is required: what it writes must decode again.
    out = reencode_request(b'GET /old HTTP/1.0\r\nX-A: 1\r\n\r\n')
    again = decode(wire(out))
    msgs, ends = messages(again)
    assert ends == [None], again
    assert [(m[0].method, m[0].path, m[0].headers.get('x-a')) for m in msgs] == [('GET', '/old', '1')]


@SETTINGS
@given(req=requests(version='HTTP/1.0'))
def test_prop_encode_decode_http10_request(req):
    raw, expected, body = req
    out = reencode_request(raw)
    again = decode(wire(out))
    assert_well_formed(again)
    msgs, ends = messages(again)
    assert ends == [None], again
    assert len(msgs) == 1
    assert (msgs[0][0].method, msgs[0][0].path, msgs[0][1]) == (expected[1], expected[2], body)


@SETTINGS
@given(resps=st.lists(responses(), min_size=1, max_size=3), data=st.data())
def test_prop_encode_decode_response_is_stable(resps, data):
    resps = [r for r in resps[:-1] if r[3] != 'close'] + resps[-1:]
    raw = b''.join(r[0] for r in resps)
    first = decode(raw, 'response')
    p, c = pipeline(lambda p: p.decode_http_response().encode_http_response())
    out = feed_bytes(p, c, data.draw(splits(raw)))
    again = decode(wire(out), 'response')
    assert_well_formed(again)
    assert semantic(again) == semantic(first)
