"""encode_http_* and decode_http_* as a script uses them: the encoders on the messages a script makes (heads as
dicts or head objects, framing fields of its own, HEAD requests), and events that are not bytes on the way.
The codec on bytes, generated and by example, is tested in test/codecs/.
"""
import pytest
from hypothesis import given, strategies as st

from pipyx import Data, MessageEnd, MessageStart, ResponseHead, StreamEnd
from pipyx.testing import pipeline
from test.codecs.http_support import (HOP_BY_HOP, SETTINGS, bodies, decode, decoder, feed_bytes, fields_st, messages,
                                      methods, normalize, paths, splits, wire)


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
    feed_bytes(p, c, [b'PUT /orig HTTP/1.1\r\nHost: a\r\nX-Drop: 1\r\nX-Keep: 2\r\nContent-Length: 2\r\n\r\nhi'])
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


# ----------------------------------------------------------------------------------------- events that are not bytes

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
