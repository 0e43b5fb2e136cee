"""The HTTP/1 message writer (requests to an upstream, encode_http_*) with events in and bytes out, read back by the
decoder: no filter, no socket."""
from hypothesis import given, settings, strategies as st

from pipyx import Data, MessageEnd, MessageStart
from pipyx._native import EventCollector, HttpDecodeLog, HttpDecoder, MessageEncoder


def encode(head, pieces, reads_end_after=(), response=False):
    out = EventCollector()
    enc = MessageEncoder(out, response)
    enc.input(MessageStart(head))
    for i, piece in enumerate(pieces):
        enc.input(Data(piece))
        if i in reads_end_after:
            enc._flush_soon()              # what the end of a socket read does: a held body starts streaming
    enc.input(MessageEnd())
    return b''.join(e.to_bytes() for e in out.events), enc


def read_back(data, response=False):
    log = HttpDecodeLog()
    decoder = HttpDecoder(log, response)
    decoder.feed_bytes(data)
    decoder.feed_end()
    return log.events


def test_a_small_request_goes_whole_with_its_length():
    data, enc = encode({'method': 'POST', 'path': '/charge', 'headers': {'host': 'up', 'x-id': '7'}},
                       [b'amount=', b'100'])
    assert data.startswith(b'POST /charge HTTP/1.1\r\n')
    assert b'content-length: 10\r\n' in data.lower() and data.endswith(b'\r\n\r\namount=100')
    assert not enc.broken


def test_a_request_whose_body_outlives_its_read_is_chunked():
    data, _ = encode({'method': 'PUT', 'path': '/f', 'headers': {'host': 'up'}}, [b'one', b'two'], {0})
    assert b'transfer-encoding: chunked' in data.lower()
    events = read_back(data)
    assert events[1] == ('body', b'onetwo') and events[2] == ('end',)


def test_a_head_decoded_from_the_wire_keeps_its_length_and_a_body_past_it_breaks_the_encoder():
    log = HttpDecodeLog()
    HttpDecoder(log, False).feed_bytes(b'POST /x HTTP/1.1\r\nHost: up\r\nContent-Length: 3\r\n\r\n')
    head = log.events[0][1]
    data, enc = encode(head, [b'abcdef'], {0})
    assert enc.broken                     # more body than declared never reaches the peer
    assert b'abcdef' not in data


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=9000), max_size=6), st.sets(st.integers(min_value=0, max_value=5)),
       st.sampled_from(['GET', 'POST', 'PUT', 'DELETE']), st.booleans())
def test_any_request_body_cut_anywhere_reads_back_the_same(pieces, reads, method, response):
    body = b''.join(pieces)
    head = {'status': 200} if response else {'method': method, 'path': '/p?q=1', 'headers': {'host': 'up'}}
    data, enc = encode(head, pieces, reads, response)
    assert not enc.broken
    events = read_back(data, response)
    if response:
        assert events[0][1].status == 200
    else:
        assert (events[0][1].method, events[0][1].path) == (method, '/p?q=1')
    assert b''.join(e[1] for e in events if e[0] == 'body') == body
    assert events[-1] == ('end',)
