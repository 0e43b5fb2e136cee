"""The tunnel's framing with bytes alone: TunnelFrameWriter -> bytes -> TunnelFrameReader -> TunnelFrameLog."""
import struct

from hypothesis import given, settings, strategies as st

from pipyx._native import TunnelFrameLog, TunnelFrameReader, TunnelFrameWriter

channel = st.integers(min_value=1, max_value=2 ** 32 - 1)
frame = st.one_of(
    st.tuples(st.just('open'), channel, st.binary(max_size=60)),
    st.tuples(st.just('data'), channel, st.binary(min_size=1, max_size=5000)),
    st.tuples(st.just('end'), channel),
    st.tuples(st.just('reset'), channel, st.sampled_from(['ConnectionReset', 'ReadTimeout', 'BufferOverflow'])),
    st.tuples(st.just('window'), channel, st.integers(min_value=1, max_value=2 ** 31 - 1)),
    st.tuples(st.just('ping'), st.binary(max_size=40)),
)


def write(frames):
    w = TunnelFrameWriter()
    w.hello()
    for f in frames:
        getattr(w, f[0])(*f[1:])
    return w.take_bytes()


def read(data, cuts=()):
    log = TunnelFrameLog()
    reader = TunnelFrameReader(log)
    last = 0
    for cut in sorted(set(cuts)) + [len(data)]:
        if cut > last:
            reader.feed_bytes(data[last:cut])
            last = cut
    return log.events


def joined(frames):
    """Frames as a reader reports them: data right after data on the same channel is one run of bytes."""
    out = []
    for f in frames:
        if f[0] == 'data' and out and out[-1][0] == 'data' and out[-1][1] == f[1]:
            out[-1] = ('data', f[1], out[-1][2] + f[2])
        else:
            out.append(tuple(f))
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(frame, max_size=20))
def test_frames_written_are_read_back(frames):
    assert read(write(frames)) == joined(frames)


@settings(max_examples=300, deadline=None)
@given(st.lists(frame, min_size=1, max_size=10), st.lists(st.integers(min_value=0, max_value=60000), max_size=15))
def test_frames_read_the_same_however_the_bytes_are_split(frames, cuts):
    data = write(frames)
    assert read(data, [c % (len(data) + 1) for c in cuts]) == joined(frames)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200), st.booleans())
def test_garbage_is_an_error_never_an_exception(data, after_hello):
    prefix = write([]) if after_hello else b''
    events = read(prefix + data)
    errors = [e for e in events if e[0] == 'error']
    assert len(errors) <= 1
    if errors:
        assert events[-1] == errors[0]          # nothing is read after a protocol error


def test_a_peer_that_does_not_say_hello_is_refused():
    w = TunnelFrameWriter()
    w.data(1, b'x')
    assert read(w.take_bytes()) == [('error', 'the peer is not a pipyx tunnel (no HELLO)')]


def test_the_version_and_the_frame_sizes_are_checked():
    assert read(struct.pack('>B3sI', 0, (4).to_bytes(3, 'big'), 0) + b'nope')[-1][0] == 'error'
    hello = write([])
    big_control = struct.pack('>B3sI', 1, (2000).to_bytes(3, 'big'), 5) + b'x' * 2000
    assert read(hello + big_control) == [('error', 'control frame of 2000 bytes')]
    data_on_zero = struct.pack('>B3sI', 2, (1).to_bytes(3, 'big'), 0) + b'x'
    assert read(hello + data_on_zero) == [('error', 'DATA on channel 0')]
    short_window = struct.pack('>B3sI', 5, (2).to_bytes(3, 'big'), 1) + b'\x00\x01'
    assert read(hello + short_window) == [('error', 'WINDOW frame of 2 bytes')]


def test_a_payload_above_the_frame_limit_goes_in_several_frames():
    payload = b'a' * (0xFFFFFF + 10)
    data = write([('data', 7, payload)])
    assert data.count(b'\x02\xff\xff\xff\x00\x00\x00\x07') == 1      # one full frame, then the rest in another
    assert read(data) == [('data', 7, payload)]
