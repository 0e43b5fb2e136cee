"""The HTTP/1.x codec as plain filters: decode_http_request/response and encode_http_request/response.

Property tests build their own wire bytes from generated messages (never through the encoder under test), decode
them, and compare; then check the same bytes split anywhere, pipelined, mutated, and re-encoded.
"""
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from pipyx import Data, MessageEnd, MessageStart, RequestHead, ResponseHead, StreamEnd
from pipyx.testing import pipeline

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

HOP_BY_HOP = {'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'content-length', 'te',
              'trailer', 'upgrade'}
RESERVED = HOP_BY_HOP | {'host', 'expect'}

TCHAR = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ' + "!#$%&'*+-.^_`|~"
PATH_CHARS = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ' + "-._~!$&'()*+,;=:@/%?"
VCHAR = ''.join(chr(c) for c in range(0x21, 0x7f))
OBS_TEXT = ''.join(chr(c) for c in range(0x80, 0x100))


# ------------------------------------------------------------------ driving the filters

def decoder(kind='request', **options):
    if kind == 'request':
        return pipeline(lambda p: p.decode_http_request(**options))
    return pipeline(lambda p: p.decode_http_response(**options))


def feed(p, c, pieces, end=True):
    for piece in pieces:
        p.input(piece if isinstance(piece, (Data, StreamEnd)) else Data(piece))
    if end:
        p.input(StreamEnd())
    return c.events


def decode(raw, kind='request', pieces=None, end=True, **options):
    """Decodes raw (bytes) fed in the given pieces (default: whole), then StreamEnd. Returns the events."""
    p, c = decoder(kind, **options)
    return feed(p, c, [raw] if pieces is None else pieces, end)


def split_at(raw, cuts):
    cuts = sorted(set(x for x in cuts if 0 < x < len(raw)))
    out, prev = [], 0
    for x in cuts:
        out.append(raw[prev:x])
        prev = x
    out.append(raw[prev:])
    return [x for x in out if x]


def head_summary(h):
    if isinstance(h, RequestHead):
        return ('request', h.method, h.path, h.protocol, dict(h.headers))
    if isinstance(h, ResponseHead):
        return ('response', h.status, h.status_text, h.protocol, dict(h.headers))
    return ('other', repr(h))


def normalize(events):
    """Events as comparable tuples: heads summarized, neighbouring Data merged."""
    out = []
    for e in events:
        if isinstance(e, MessageStart):
            out.append(('start', head_summary(e.head)))
        elif isinstance(e, Data):
            if out and out[-1][0] == 'data':
                out[-1] = ('data', out[-1][1] + e.to_bytes())
            else:
                out.append(('data', e.to_bytes()))
        elif isinstance(e, MessageEnd):
            out.append(('end', e.tail))
        elif isinstance(e, StreamEnd):
            out.append(('stream_end', e.error))
        else:
            out.append(('?', repr(e)))
    return out


def messages(events):
    """[(head, body bytes)] of the complete messages, and the list of StreamEnd errors seen."""
    msgs, ends, head, body = [], [], None, None
    for e in events:
        if isinstance(e, MessageStart):
            assert head is None, 'MessageStart inside a message: %r' % events
            head, body = e.head, b''
        elif isinstance(e, Data):
            assert head is not None, 'Data outside a message: %r' % events
            body += e.to_bytes()
        elif isinstance(e, MessageEnd):
            assert head is not None, 'MessageEnd without MessageStart: %r' % events
            msgs.append((head, body))
            head = None
        elif isinstance(e, StreamEnd):
            ends.append(e.error)
    return msgs, ends


def assert_well_formed(events, fed_stream_end=True):
    """Up to the first StreamEnd: (MessageStart Data* MessageEnd)* [MessageStart Data*] StreamEnd, no empty Data.
    (That nothing follows the first StreamEnd is checked by assert_ends_once.)"""
    inside = False
    for e in events:
        if isinstance(e, StreamEnd):
            return
        elif isinstance(e, MessageStart):
            assert not inside, 'MessageStart inside a message: %r' % events
            inside = True
        elif isinstance(e, Data):
            assert inside, 'Data outside a message: %r' % events
            assert len(e) > 0, 'empty Data event'
        elif isinstance(e, MessageEnd):
            assert inside, 'MessageEnd outside a message: %r' % events
            inside = False
        else:
            raise AssertionError('unexpected event %r' % (e,))
    assert not fed_stream_end, 'the stream did not end: %r' % events[-3:]


def assert_ends_once(events):
    """Exactly one StreamEnd, and it is the last event."""
    ends = [i for i, e in enumerate(events) if isinstance(e, StreamEnd)]
    assert len(ends) == 1 and ends[0] == len(events) - 1, 'the stream ends %d times: %r' % (len(ends), events[-4:])


def assert_refused(events):
    """The decoder refused a head: the first thing out is StreamEnd('ProtocolError')."""
    assert normalize(events)[:1] == [('stream_end', 'ProtocolError')], events


# ------------------------------------------------------------------ generating messages and their bytes

def _token(min_size=1, max_size=12):
    return st.text(alphabet=TCHAR, min_size=min_size, max_size=max_size)


field_value = st.text(alphabet=VCHAR + OBS_TEXT + ' \t', max_size=30).map(lambda s: s.strip(' \t'))
field_name = _token(max_size=16).filter(lambda n: n.lower() not in RESERVED)
fields_st = st.lists(st.tuples(field_name, field_value), max_size=6, unique_by=lambda f: f[0].lower())
ows = st.sampled_from(['', ' ', '  ', '\t', ' \t'])
methods = st.one_of(st.sampled_from(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD']), _token(max_size=10))
paths = st.one_of(st.just('/'), st.text(alphabet=PATH_CHARS, max_size=40).map(lambda s: '/' + s),
                  st.just('*'), st.just('http://example.com:8080/a?b=c'))
bodies = st.one_of(st.just(b''), st.binary(max_size=200))
chunk_ext = st.sampled_from(['', ';a=b', ';name="quoted;value"', ' ;x', ';y'])
trailer_fields = st.lists(st.tuples(field_name, field_value), max_size=3)


@st.composite
def chunked_body(draw, body, eol=b'\r\n'):
    """The chunked encoding of body: random chunk sizes, chunk extensions, trailers."""
    cuts = draw(st.lists(st.integers(min_value=1, max_value=max(1, len(body) - 1)), max_size=5)) if body else []
    out = b''
    for piece in split_at(body, cuts):
        size = ('%x' % len(piece)) if draw(st.booleans()) else ('%X' % len(piece))
        out += size.encode() + draw(chunk_ext).encode() + eol + piece + eol
    out += b'0' + draw(chunk_ext).encode() + eol
    for name, value in draw(trailer_fields):
        out += ('%s: %s' % (name, value)).encode('latin-1') + eol
    return out + eol


@st.composite
def requests(draw, eol=None, version=None, framing=None):
    """(wire bytes, expected summary, expected body) of one request."""
    eol = draw(st.sampled_from([b'\r\n', b'\n'])) if eol is None else eol
    version = draw(st.sampled_from(['HTTP/1.1', 'HTTP/1.0'])) if version is None else version
    method = draw(methods)
    path = draw(paths)
    body = draw(bodies)
    choices = ['length', 'chunked'] if version == 'HTTP/1.1' else ['length']
    if not body:
        choices.append('none')
    framing = draw(st.sampled_from(choices)) if framing is None else framing
    fields = list(draw(fields_st))
    if draw(st.integers(0, 3)) == 0:
        # Connection: its options, and maybe the name of another field that is then for this hop only
        tokens = draw(st.lists(st.sampled_from(['close', 'keep-alive', 'Keep-Alive'] + [n for n, _ in fields]),
                               min_size=1, max_size=3, unique_by=str.lower))
        fields.insert(draw(st.integers(0, len(fields))), ('Connection', ', '.join(tokens)))
    if version == 'HTTP/1.1' or draw(st.booleans()):
        fields.insert(draw(st.integers(0, len(fields))), (draw(st.sampled_from(['Host', 'host', 'HOST'])),
                                                           draw(st.sampled_from(['a', 'example.com:8080']))))
    if framing == 'length':
        fields.insert(draw(st.integers(0, len(fields))), ('Content-Length', str(len(body))))
    elif framing == 'chunked':
        fields.insert(draw(st.integers(0, len(fields))), ('Transfer-Encoding', 'chunked'))
    raw = ('%s %s %s' % (method, path, version)).encode() + eol
    for name, value in fields:
        raw += ('%s:%s%s%s' % (name, draw(ows), value, draw(ows) if value else '')).encode('latin-1') + eol
    raw += eol
    if framing == 'length':
        raw += body
    elif framing == 'chunked':
        raw += draw(chunked_body(body, eol))
    expected = ('request', method, path, version, {n.lower(): v for n, v in fields})
    return raw, expected, body


@st.composite
def responses(draw, framing=None, version=None):
    """(wire bytes, expected summary, expected body, framing) of one response with a body."""
    version = draw(st.sampled_from(['HTTP/1.1', 'HTTP/1.0'])) if version is None else version
    status = draw(st.integers(200, 599).filter(lambda s: s not in (204, 304)))
    reason = draw(st.one_of(st.sampled_from(['OK', 'Not Found', '']),
                            st.text(alphabet=VCHAR + OBS_TEXT + ' \t', max_size=20).map(lambda s: s.strip(' \t'))))
    body = draw(bodies)
    choices = ['length', 'close'] + (['chunked'] if version == 'HTTP/1.1' else [])
    framing = draw(st.sampled_from(choices)) if framing is None else framing
    fields = list(draw(fields_st))
    if framing == 'length':
        fields.insert(draw(st.integers(0, len(fields))), ('Content-Length', str(len(body))))
    elif framing == 'chunked':
        fields.insert(draw(st.integers(0, len(fields))), ('Transfer-Encoding', 'chunked'))
    raw = ('%s %03d %s' % (version, status, reason)).encode('latin-1') + b'\r\n'
    for name, value in fields:
        raw += ('%s: %s' % (name, value)).encode('latin-1') + b'\r\n'
    raw += b'\r\n'
    if framing == 'chunked':
        raw += draw(chunked_body(body))
    else:
        raw += body
    expected = ('response', status, reason, version, {n.lower(): v for n, v in fields})
    return raw, expected, body, framing


def expected_events(msgs, stream_error=None):
    out = []
    for summary, body in msgs:
        out.append(('start', summary))
        if body:
            out.append(('data', body))
        out.append(('end', None))
    out.append(('stream_end', stream_error))
    return out


@st.composite
def splits(draw, raw):
    """raw cut into pieces at random places (sometimes into single bytes)."""
    if draw(st.integers(0, 9)) == 0:
        return [raw[i:i + 1] for i in range(len(raw))]
    cuts = draw(st.lists(st.integers(min_value=1, max_value=max(1, len(raw) - 1)), max_size=12))
    return split_at(raw, cuts)


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
    feed(p, c, [raw], end=False)
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

def reencode_request(raw, pieces=None):
    p, c = pipeline(lambda p: p.decode_http_request().encode_http_request())
    return feed(p, c, [raw] if pieces is None else pieces)


def wire(events):
    return b''.join(e.to_bytes() for e in events if isinstance(e, Data))


def semantic(events, keep_protocol=False):
    """normalize() less what an encoder may legitimately redo: framing and hop-by-hop fields, the version."""
    out = []
    for x in normalize(events):
        if x[0] == 'start':
            s = list(x[1])
            listed = {t.strip().lower() for t in s[-1].get('connection', '').split(',')}
            s[-1] = {k: v for k, v in s[-1].items() if k not in HOP_BY_HOP and k not in listed}
            if not keep_protocol:
                s[3] = None
            x = ('start', tuple(s))
        out.append(x)
    return out


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
    out = feed(p, c, data.draw(splits(raw)))
    again = decode(wire(out), 'response')
    assert_well_formed(again)
    assert semantic(again) == semantic(first)


# ------------------------------------------------------------------ the encoders from messages a script makes

req_heads = st.fixed_dictionaries({
    'method': methods, 'path': paths,
    'headers': fields_st.map(lambda fs: dict([('Host', 'example.com')] + fs)),
})
large_bodies = st.integers(16 * 1024 - 3, 16 * 1024 + 40).map(lambda n: bytes(i % 251 for i in range(n)))


@SETTINGS
@given(head=req_heads, body=st.one_of(bodies, large_bodies), data=st.data())
def test_prop_encode_request_from_dict_head(head, body, data):
    p, c = pipeline(lambda p: p.encode_http_request().decode_http_request())
    p.input(MessageStart(head))
    for piece in data.draw(splits(body)) if body else []:
        p.input(Data(piece))
    p.input(MessageEnd())
    p.input(StreamEnd())
    msgs, ends = messages(c.events)
    assert ends == [None]
    assert len(msgs) == 1
    h, got = msgs[0]
    assert (h.method, h.path, h.protocol) == (head['method'], head['path'], 'HTTP/1.1')
    hdrs = dict(h.headers)
    framing = {k: hdrs.pop(k) for k in ('content-length', 'transfer-encoding') if k in hdrs}
    assert hdrs == {k.lower(): v for k, v in head['headers'].items()}
    assert got == body
    if len(body) > 16 * 1024:
        assert framing == {'transfer-encoding': 'chunked'}
    elif body or head['method'] not in ('GET', 'HEAD', 'OPTIONS', 'DELETE', 'TRACE'):
        assert framing == {'content-length': str(len(body))}
    else:
        assert framing == {}


def test_encode_request_drops_callers_framing_fields():
    p, c = pipeline(lambda p: p.encode_http_request())
    p.input(MessageStart({'method': 'POST', 'path': '/', 'headers': {
        'Host': 'a', 'Content-Length': '999', 'Transfer-Encoding': 'chunked', 'Connection': 'close'}}))
    p.input(Data(b'abc'))
    p.input(MessageEnd())
    out = wire(c.events).lower()
    assert out.count(b'content-length') == 1
    assert b'content-length: 3\r\n' in out
    assert b'transfer-encoding' not in out
    assert b'connection: close' not in out
    assert out.endswith(b'\r\n\r\nabc')


def test_encode_request_head_object_and_edits():
    # A decoded head whose fields a script edited is written from the edited values.
    def edit(evt):
        evt.head.path = '/rewritten'
        evt.head.headers['x-added'] = 'yes'
        del evt.head.headers['x-drop']

    p, c = pipeline(lambda p: p.decode_http_request().handle_message_start(edit).encode_http_request())
    feed(p, c, [b'PUT /orig HTTP/1.1\r\nHost: a\r\nX-Drop: 1\r\nX-Keep: 2\r\nContent-Length: 2\r\n\r\nhi'])
    msgs, ends = messages(decode(wire(c.events)))
    h, body = msgs[0]
    assert (h.method, h.path, body) == ('PUT', '/rewritten', b'hi')
    assert dict(h.headers) == {'host': 'a', 'x-keep': '2', 'x-added': 'yes', 'content-length': '2'}


resp_heads = st.fixed_dictionaries({
    'status': st.integers(200, 599).filter(lambda s: s not in (204, 304)),
    'headers': fields_st.map(dict),
})


@SETTINGS
@given(head=resp_heads, body=st.one_of(bodies, large_bodies), data=st.data())
def test_prop_encode_response_from_dict_head(head, body, data):
    p, c = pipeline(lambda p: p.encode_http_response().decode_http_response())
    p.input(MessageStart(head))
    for piece in data.draw(splits(body)) if body else []:
        p.input(Data(piece))
    p.input(MessageEnd())
    p.input(StreamEnd())
    msgs, ends = messages(c.events)
    assert ends == [None]
    assert len(msgs) == 1
    h, got = msgs[0]
    assert h.status == head['status']
    assert h.status_text == ResponseHead(head['status']).status_text
    hdrs = {k: v for k, v in dict(h.headers).items() if k not in HOP_BY_HOP}
    assert hdrs == {k.lower(): v for k, v in head['headers'].items()}
    assert got == body


@pytest.mark.parametrize('status', [204, 304])
@pytest.mark.parametrize('size', [0, 3, 20000])
def test_encode_bodiless_status_writes_no_body(status, size):
    # 204 and 304 responses end at their head: body bytes written after it would be read as the next response.
    p, c = pipeline(lambda p: p.encode_http_response())
    p.input(MessageStart({'status': status}))
    if size:
        p.input(Data(b'x' * size))
    p.input(MessageEnd())
    p.input(MessageStart({'status': 200}))
    p.input(Data(b'next'))
    p.input(MessageEnd())
    p.input(StreamEnd())
    out = wire(c.events)
    head_end = out.index(b'\r\n\r\n') + 4
    assert out[head_end:].startswith(b'HTTP/1.1 200'), out[:200]
    assert b'transfer-encoding' not in out[:head_end].lower()
    if status == 204:
        assert b'content-length' not in out[:head_end].lower()     # RFC 9110 8.6
    msgs, ends = messages(decode(out, 'response'))
    assert [(m[0].status, m[1]) for m in msgs] == [(status, b''), (200, b'next')]


@pytest.mark.parametrize('size', [0, 5, 20000])
def test_encode_response_to_head_request_writes_no_body(size):
    p, c = pipeline(lambda p: p.encode_http_response(head_request=lambda: True))
    p.input(MessageStart({'status': 200}))
    if size:
        p.input(Data(b'y' * size))
    p.input(MessageEnd())
    p.input(StreamEnd())
    out = wire(c.events)
    head_end = out.index(b'\r\n\r\n') + 4
    assert out[head_end:] == b'', out[:200]
    assert b'transfer-encoding' not in out.lower()
    if size:
        assert b'content-length: %d\r\n' % size in out.lower()
    msgs, _ = messages(decode(out, 'response', bodiless=lambda: True))
    assert [(m[0].status, m[1]) for m in msgs] == [(200, b'')]


def test_encode_response_status_text():
    p, c = pipeline(lambda p: p.encode_http_response())
    p.input(MessageStart({'status': 404}))
    p.input(MessageEnd())
    p.input(MessageStart({'status': 200, 'status_text': 'Fine Thanks'}))
    p.input(Data(b'b'))
    p.input(MessageEnd())
    msgs, _ = messages(decode(wire(c.events), 'response'))
    assert [(m[0].status, m[0].status_text, m[1]) for m in msgs] == [(404, 'Not Found', b''),
                                                                      (200, 'Fine Thanks', b'b')]


def test_encoders_pass_stream_end_and_drop_data_outside_messages():
    for build in (lambda p: p.encode_http_request(), lambda p: p.encode_http_response()):
        p, c = pipeline(build)
        p.input(Data(b'stray'))
        p.input(StreamEnd('ConnectionReset'))
        assert normalize(c.events) == [('stream_end', 'ConnectionReset')]


# ------------------------------------------------------------------ responses: framing without a body

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


# ------------------------------------------------------------------ RFC 9112 specifics (requests)

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


def test_decoder_ignores_message_events_on_its_input():
    p, c = decoder()
    p.input(MessageStart({'method': 'GET'}))
    p.input(MessageEnd())
    p.input(Data(b'GET / HTTP/1.1\r\nHost: a\r\n\r\n'))
    p.input(StreamEnd())
    assert [x[0] for x in normalize(c.events)] == ['start', 'end', 'stream_end']


def test_stream_end_error_passes_through():
    events = decode(b'GET / HTTP/1.1\r\nHost: a\r\n\r\n', pieces=[b'GET / HTTP/1.1\r\nHost: a\r\n\r\n',
                                                                StreamEnd('ConnectionReset')], end=False)
    assert normalize(events)[-1] == ('stream_end', 'ConnectionReset')
