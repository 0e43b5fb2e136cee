"""deframe: a state machine over a stream's bytes; reads of N bytes; the same messages however the bytes are cut,
and garbage ends only its own stream."""
import struct

from hypothesis import given, settings, strategies as st

from pipyx import Data, Message, MessageEnd, MessageStart, StreamEnd
from pipyx.testing import pipeline
from test.helpers.streams import feed, split_at, summary

# A protocol of the kind deframe is for: a type byte, a 2-byte big-endian length, the payload. Type 1 payloads are
# read into a Data, type 2 into a list of ints, type 3 pass straight through.


def kind(byte):
    if byte not in (1, 2, 3):
        raise ValueError('unknown frame type %d' % byte)
    return ['length', 2, [byte]]


def length(header):
    t, n = header[0], header[1] << 8 | header[2]
    start = MessageStart({'type': t, 'size': n})
    if n == 0:
        return [start, MessageEnd(), 'kind']
    into = Data() if t == 1 else [] if t == 2 else None
    return [start, 'payload', n, into]


def payload(body):
    if body is None:                       # type 3: the bytes went out as they came
        return [MessageEnd(), 'kind']
    if isinstance(body, list):
        body = Data(bytes(body))
    return [body, MessageEnd(), 'kind']


STATES = {'kind': kind, 'length': length, 'payload': payload}


def frame(t, payload):
    return bytes([t]) + struct.pack('>H', len(payload)) + payload


def test_frames_of_each_kind_become_messages():
    p, c = pipeline(lambda p: p.deframe(STATES))
    feed(p, [Data(frame(1, b'hello') + frame(2, b'\x00\xff') + frame(3, b'pass') + frame(1, b'')), StreamEnd()])
    assert summary(c.events) == [
        ('start', {'type': 1, 'size': 5}), ('data', b'hello'), ('end', None),
        ('start', {'type': 2, 'size': 2}), ('data', b'\x00\xff'), ('end', None),
        ('start', {'type': 3, 'size': 4}), ('data', b'pass'), ('end', None),
        ('start', {'type': 1, 'size': 0}), ('end', None),
        ('stream_end', None)]


def test_a_read_is_not_called_back_until_all_its_bytes_are_in():
    calls = []
    states = dict(STATES, payload=lambda body: calls.append(body.to_bytes()) or payload(body))
    p, c = pipeline(lambda p: p.deframe(states))
    f = frame(1, b'abcdefgh')
    for i in range(len(f)):
        feed(p, [Data(f[i:i + 1])])
    assert calls == [b'abcdefgh']


def test_a_passed_read_streams_its_bytes_as_they_come():
    p, c = pipeline(lambda p: p.deframe(STATES))
    feed(p, [Data(frame(3, b'0123456789')[:7])])
    assert summary(c.events) == [('start', {'type': 3, 'size': 10}), ('data', b'0123')]


def test_a_state_may_be_a_constant_and_messages_may_be_returned():
    p, c = pipeline(lambda p: p.deframe({
        'first': lambda b: [Message({'first': b}, b'!'), 'rest'],
        'rest': 'rest',                     # swallow everything else
    }))
    feed(p, [Data(b'xyz'), StreamEnd(), Data(b'q')])
    assert summary(c.events) == [('start', {'first': ord('x')}), ('data', b'!'), ('end', None),
                                 ('stream_end', None),
                                 # a StreamEnd starts over at the first state
                                 ('start', {'first': ord('q')}), ('data', b'!'), ('end', None)]


def test_unknown_state_ends_the_stream():
    p, c = pipeline(lambda p: p.deframe({'a': lambda b: 'nowhere'}))
    feed(p, [Data(b'abc'), Data(b'def'), StreamEnd()])
    assert summary(c.events) == [('stream_end', 'RuntimeError')]


def test_bad_answers_end_the_stream():
    for bad in (42, ['a', 0, Data()], ['a', 3, 'into what?'], [MessageStart()], ['a', 1, None, 'extra']):
        p, c = pipeline(lambda p: p.deframe({'a': lambda b: bad}))
        feed(p, [Data(b'abc'), StreamEnd()])
        assert summary(c.events)[-1] == ('stream_end', 'RuntimeError'), bad
        assert [e for e in c.events if isinstance(e, StreamEnd)] == [c.events[-1]], bad


def test_a_raising_callback_ends_only_its_stream():
    lay = pipeline(lambda p: p.deframe(STATES))
    p, c = lay
    feed(p, [Data(frame(1, b'ok') + b'\x09garbage'), Data(frame(1, b'late'))])
    assert summary(c.events) == [('start', {'type': 1, 'size': 2}), ('data', b'ok'), ('end', None),
                                 ('stream_end', 'RuntimeError')]
    p2, c2 = pipeline(lambda p: p.deframe(STATES))
    feed(p2, [Data(frame(2, b'fine')), StreamEnd()])
    assert summary(c2.events)[-1] == ('stream_end', None)


frames = st.lists(st.tuples(st.sampled_from([1, 2, 3]), st.binary(max_size=40)), max_size=8)


@settings(max_examples=300, deadline=None)
@given(frames, st.lists(st.integers(0, 400), max_size=20))
def test_same_messages_however_the_bytes_are_cut(fs, cuts):
    wire = b''.join(frame(t, b) for t, b in fs)
    p, c = pipeline(lambda p: p.deframe(STATES))
    feed(p, [Data(x) for x in split_at(wire, cuts)] + [StreamEnd()])
    expected = []
    for t, b in fs:
        expected.append(('start', {'type': t, 'size': len(b)}))
        if b:
            expected.append(('data', b))
        expected.append(('end', None))
    assert summary(c.events) == expected + [('stream_end', None)]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.lists(st.integers(0, 200), max_size=10))
def test_garbage_ends_the_stream_or_leaves_a_frame_unfinished(junk, cuts):
    p, c = pipeline(lambda p: p.deframe(STATES))
    feed(p, [Data(x) for x in split_at(junk, cuts)] + [StreamEnd()])
    ends = [e for e in c.events if isinstance(e, StreamEnd)]
    assert len(ends) == 1 and c.events[-1] is ends[0]
    assert ends[0].error in (None, 'RuntimeError')
    if ends[0].error is None:
        # Everything that came out is well-formed frames of the input.
        depth = 0
        for e in c.events[:-1]:
            if isinstance(e, MessageStart):
                assert depth == 0
                depth = 1
            elif isinstance(e, MessageEnd):
                assert depth == 1
                depth = 0
