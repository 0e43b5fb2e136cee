"""What the HTTP/1.x codec tests share: driving the codec filters, and generators of messages with their wire bytes."""
from hypothesis import HealthCheck, settings, strategies as st

from pipyx import Data, MessageEnd, MessageStart, RequestHead, ResponseHead, StreamEnd
from pipyx.testing import pipeline
from test.helpers.streams import split_at, summary as summarize_events

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


def feed_bytes(p, c, pieces, end=True):
    for piece in pieces:
        p.input(piece if isinstance(piece, (Data, StreamEnd)) else Data(piece))
    if end:
        p.input(StreamEnd())
    return c.events


def decode(raw, kind='request', pieces=None, end=True, **options):
    """Decodes raw (bytes) fed in the given pieces (default: whole), then StreamEnd. Returns the events."""
    p, c = decoder(kind, **options)
    return feed_bytes(p, c, [raw] if pieces is None else pieces, end)


def head_summary(h):
    if isinstance(h, RequestHead):
        return ('request', h.method, h.path, h.protocol, dict(h.headers))
    if isinstance(h, ResponseHead):
        return ('response', h.status, h.status_text, h.protocol, dict(h.headers))
    return ('other', repr(h))


def normalize(events):
    """Events as comparable tuples: heads summarized, neighbouring Data merged."""
    return summarize_events(events, head_summary)


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


def reencode_request(raw, pieces=None):
    p, c = pipeline(lambda p: p.decode_http_request().encode_http_request())
    return feed_bytes(p, c, [raw] if pieces is None else pieces)


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
