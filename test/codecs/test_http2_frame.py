"""HTTP/2 frames (RFC 9113): every frame type written by Http2Frames and read back by Http2FrameReader from bytes
split anywhere; the frame layer's errors (sizes, padding, CONTINUATION sequencing, floods); garbage never crashes."""
import h2.connection
import h2.config
import pytest
from hypothesis import given, settings, strategies as st

from pipyx._native import Http2FrameLog, Http2FrameReader, Http2Frames as F

PROTOCOL_ERROR, FRAME_SIZE_ERROR, ENHANCE_YOUR_CALM = 1, 6, 11


def read(data, pieces=None, **kw):
    log = Http2FrameLog()
    r = Http2FrameReader(log, **kw)
    if pieces is None:
        r.feed(data)
    else:
        cuts = [0] + sorted(pieces) + [len(data)]
        for a, b in zip(cuts, cuts[1:]):
            r.feed(data[a:b])
    return log.events


ALL = [
    (F.data(1, b'hello', True), ('data', 1, b'hello', True, 5)),
    (F.headers(3, b'\x82\x84', False), ('headers', 3, b'\x82\x84', False, 0)),
    (F.headers(5, b'x' * 40000, True), ('headers', 5, b'x' * 40000, True, 0)),   # with CONTINUATIONs
    (F.priority(7, 3, 200), ('priority', 7, 3)),
    (F.rst_stream(9, 8), ('rst_stream', 9, 8)),
    (F.settings([(1, 4096), (4, 65535)]), ('settings', False, [(1, 4096), (4, 65535)])),
    (F.settings(ack=True), ('settings', True, [])),
    (F.push_promise(1, 2, b'\x82'), ('push_promise', 1, 2, b'\x82')),
    (F.ping(b'12345678'), ('ping', False, b'12345678')),
    (F.ping(b'abcdefgh', ack=True), ('ping', True, b'abcdefgh')),
    (F.goaway(11, 2, b'bye'), ('goaway', 11, 2, b'bye')),
    (F.window_update(0, 1000), ('window_update', 0, 1000)),
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(range(len(ALL))), min_size=1, max_size=8), st.data())
def test_round_trip_split_anywhere(which, data):
    wire = b''.join(ALL[i][0] for i in which)
    cuts = data.draw(st.lists(st.integers(0, len(wire)), max_size=6))
    assert read(wire, cuts) == [ALL[i][1] for i in which]


def test_split_at_every_byte():
    wire = b''.join(f for f, _ in ALL if len(f) < 1000)
    expected = [e for f, e in ALL if len(f) < 1000]
    for i in range(len(wire) + 1):
        assert read(wire, [i]) == expected


def test_frames_from_the_h2_package():
    c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    c.initiate_connection()
    c.send_headers(1, [(':method', 'POST'), (':path', '/'), (':scheme', 'http'), (':authority', 'x')])
    c.send_data(1, b'body', end_stream=True, pad_length=10)
    c.ping(b'pingpong')
    wire = c.data_to_send()[24:]
    events = read(wire)
    kinds = [e[0] for e in events]
    assert kinds[:2] == ['settings', 'window_update'] or kinds[0] == 'settings'
    data = [e for e in events if e[0] == 'data'][0]
    assert data == ('data', 1, b'body', True, 15)          # padding counts against flow control
    assert ('ping', False, b'pingpong') in events


def test_frame_over_max_frame_size():
    assert read(F.data(1, b'x' * 20000), max_frame_size=16384)[-1][:2] == ('error', FRAME_SIZE_ERROR)
    assert read(F.data(1, b'x' * 20000), max_frame_size=32768)[0][0] == 'data'


def test_headers_interrupted_by_another_stream():
    block = F.headers(1, b'x' * 100, max_frame_size=60)
    first = block[:9 + 60]
    events = read(first + F.data(3, b'y'))
    assert events == [('error', PROTOCOL_ERROR, events[0][2])] and 'interrupted' in events[0][2]


def test_continuation_flood_and_oversize_block():
    flood = F.headers(1, b'x' * 200, max_frame_size=1)
    assert read(flood, max_continuations=64)[-1][:2] == ('error', ENHANCE_YOUR_CALM)
    assert read(F.headers(1, b'x' * 70000, max_frame_size=16384), max_header_block=65536)[-1][:2] == \
        ('error', ENHANCE_YOUR_CALM)


@pytest.mark.parametrize('wire,code', [
    (bytes.fromhex('000000 00 00 00000000'), PROTOCOL_ERROR),                 # DATA on stream 0
    (bytes.fromhex('000001 00 08 00000001 05'), PROTOCOL_ERROR),              # padding longer than the frame
    (bytes.fromhex('000004 09 04 00000001 00000000'), PROTOCOL_ERROR),        # CONTINUATION out of nowhere
    (bytes.fromhex('000005 04 00 00000000 0000000000'), FRAME_SIZE_ERROR),    # SETTINGS not a multiple of 6
    (bytes.fromhex('000006 04 01 00000000 000000000000'), FRAME_SIZE_ERROR),  # SETTINGS ack with a payload
    (bytes.fromhex('000007 06 00 00000000 00000000000000'), FRAME_SIZE_ERROR),  # short PING
    (bytes.fromhex('000008 06 00 00000001 0000000000000000'), PROTOCOL_ERROR),  # PING on a stream
    (bytes.fromhex('000003 08 00 00000000 000000'), FRAME_SIZE_ERROR),        # short WINDOW_UPDATE
    (bytes.fromhex('000004 03 00 00000000 00000000'), PROTOCOL_ERROR),        # RST_STREAM on stream 0
])
def test_frame_errors(wire, code):
    events = read(wire)
    assert events[-1][:2] == ('error', code)


def test_unknown_frame_types_are_ignored():
    assert read(bytes.fromhex('000003 fa 00 00000001 616263') + F.ping(b'12345678')) == [
        ('ping', False, b'12345678')]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_garbage_never_crashes(wire):
    events = read(wire)
    assert all(isinstance(e, tuple) for e in events)
    assert all(e[0] != 'error' for e in events[:-1])
