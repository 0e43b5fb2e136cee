"""The HTTP/1 response writer with events in and bytes out, read back by the decoder: no filter, no socket."""
from hypothesis import given, settings, strategies as st

from pipyx import Data, MessageEnd, MessageStart, StreamEnd
from pipyx._native import HttpDecodeLog, HttpDecoder, ResponseEncoder


def request(text):
    log = HttpDecodeLog()
    HttpDecoder(log, False).feed_bytes(text)
    return log.events[0][1]


GET11 = b'GET / HTTP/1.1\r\nHost: x\r\n\r\n'
GET10 = b'GET / HTTP/1.0\r\n\r\n'
HEAD11 = b'HEAD / HTTP/1.1\r\nHost: x\r\n\r\n'


def encode(req_bytes, head, pieces, reads_end_after=()):
    """The bytes a response encodes to, the events given one by one, a read ending after the pieces named."""
    enc = ResponseEncoder(request(req_bytes))
    enc.input(MessageStart(head))
    for i, piece in enumerate(pieces):
        enc.input(Data(piece))
        if i in reads_end_after:
            enc.send_held()
    enc.input(MessageEnd())
    return enc.take_bytes()


def read_back(data, head_request=False):
    log = HttpDecodeLog(bodiless=head_request)
    decoder = HttpDecoder(log, True)
    decoder.feed_bytes(data)
    decoder.feed_end()
    return log.events


def test_a_whole_small_body_goes_with_a_content_length_in_one_piece():
    out = encode(GET11, {'status': 201, 'headers': {'x-a': '1'}}, [b'hello ', b'world'])
    assert out.startswith(b'HTTP/1.1 201 Created\r\n')
    assert b'content-length: 11\r\n' in out.lower() and out.endswith(b'\r\n\r\nhello world')
    assert b'chunked' not in out.lower()


def test_a_body_that_outlives_its_read_is_streamed_chunked():
    out = encode(GET11, {'status': 200}, [b'first', b'second'], reads_end_after={0})
    assert b'transfer-encoding: chunked' in out.lower()
    events = read_back(out)
    assert events[0][1].status == 200 and events[1] == ('body', b'firstsecond') and events[2] == ('end',)


def test_an_http10_client_gets_a_body_delimited_by_the_close():
    out = encode(GET10, {'status': 200}, [b'a', b'b'], reads_end_after={0})
    assert b'chunked' not in out.lower() and b'content-length' not in out.lower()
    assert out.endswith(b'\r\n\r\nab')


def test_head_gets_the_length_but_no_body():
    out = encode(HEAD11, {'status': 200}, [b'12345'])
    assert b'content-length: 5' in out.lower() and out.endswith(b'\r\n\r\n')


def test_a_stream_that_ends_before_the_response_is_answered_with_its_status():
    enc = ResponseEncoder(request(GET11))
    enc.input(StreamEnd('ReadTimeout'))
    assert enc.take_bytes().startswith(b'HTTP/1.1 504 ')


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=9000), max_size=6), st.sets(st.integers(min_value=0, max_value=5)),
       st.sampled_from([200, 201, 404, 500]), st.booleans())
def test_any_body_cut_anywhere_reads_back_the_same(pieces, reads, status, declare_length):
    body = b''.join(pieces)
    head = {'status': status, 'headers': {'content-length': str(len(body))} if declare_length else {}}
    out = encode(GET11, head, pieces, reads)
    events = read_back(out)
    assert events[0][1].status == status
    got = b''.join(e[1] for e in events if e[0] == 'body')
    assert got == body
    assert events[-1] == ('end',)
