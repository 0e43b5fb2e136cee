"""WebSocket framing with bytes alone: encode_websocket_frame -> bytes -> WebSocketReader -> WebSocketLog. Split at
every byte, lengths at the edges of the three length forms, garbage, and each violation with its close code."""
import struct

from hypothesis import given, settings, strategies as st

from pipyx._native import WebSocketLog, WebSocketReader, encode_websocket_frame as frame


def read(data, cuts=(), max_message_size=1 << 20, require_mask=-1):
    log = WebSocketLog()
    reader = WebSocketReader(log, max_message_size, require_mask)
    last = 0
    for cut in sorted(set(cuts)) + [len(data)]:
        if cut > last:
            reader.feed_bytes(data[last:cut])
            last = cut
    return log.events


message = st.tuples(st.sampled_from([1, 2]), st.lists(st.binary(max_size=300), min_size=1, max_size=4))
control = st.tuples(st.sampled_from([9, 10]), st.binary(max_size=125))


def encode(messages, masked):
    """Each data message in its fragments, with a control frame between the fragments where one is given."""
    out, expected = [], []
    for (op, parts), ctl in messages:
        for i, part in enumerate(parts):
            out.append(frame(op if i == 0 else 0, part, fin=i == len(parts) - 1, masked=masked))
            if ctl is not None and i == 0 and len(parts) > 1:
                out.append(frame(ctl[0], ctl[1], masked=masked))
                expected.append(('message', ctl[0], masked, ctl[1]))
        expected.append(('message', op, masked, b''.join(parts)))
        if ctl is not None and len(parts) == 1:
            out.append(frame(ctl[0], ctl[1], masked=masked))
            expected.append(('message', ctl[0], masked, ctl[1]))
    return b''.join(out), expected


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(message, st.one_of(st.none(), control)), max_size=6), st.booleans(), st.data())
def test_round_trip_split_anywhere(messages, masked, data):
    wire, expected = encode(messages, masked)
    cuts = data.draw(st.lists(st.integers(min_value=0, max_value=len(wire)), max_size=8))
    assert read(wire, cuts) == expected


def test_split_at_every_byte():
    wire, expected = encode([((1, [b'hel', b'lo']), (9, b'p')), ((2, [bytes(range(200))]), None)], True)
    for cut in range(len(wire) + 1):
        assert read(wire, [cut]) == expected
    assert read(wire, range(len(wire))) == expected


def test_lengths_at_the_edges_of_each_form():
    for n, head_len in ((0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10), (70000, 10)):
        payload = bytes(i & 0xff for i in range(n))
        wire = frame(2, payload)
        assert len(wire) == head_len + n
        assert read(wire) == [('message', 2, False, payload)]
        masked = frame(2, payload, masked=True)
        assert len(masked) == head_len + 4 + n
        assert read(masked, [1, head_len, head_len + 3]) == [('message', 2, True, payload)]


def test_message_over_the_limit_is_1009_before_its_payload_comes():
    wire = frame(1, b'x' * 101)
    assert read(wire[:4], max_message_size=100) == [('error', 1009, 'a message over 100 bytes')]
    # fragments count together
    wire = frame(1, b'x' * 60, fin=False) + frame(0, b'x' * 60)
    assert read(wire, max_message_size=100)[-1][:2] == ('error', 1009)
    assert read(frame(1, b'x' * 100), max_message_size=100) == [('message', 1, False, b'x' * 100)]


def test_masking_required_either_way():
    assert read(frame(1, b'hi'), require_mask=1) == [('error', 1002, 'an unmasked frame from a client')]
    assert read(frame(1, b'hi', masked=True), require_mask=0) == [('error', 1002, 'a masked frame from a server')]
    assert read(frame(1, b'hi', masked=True), require_mask=1) == [('message', 1, True, b'hi')]


def test_protocol_errors_are_1002_and_stop_reading():
    bad = {
        'reserved': b'\xc1\x00',                         # RSV1 without an agreed extension
        'opcode': b'\x83\x00',
        'control fragmented': b'\x09\x00',
        'control too long': b'\x89\x7e\x00\x7e' + b'x' * 126,
        'lonely continuation': b'\x80\x00',
        'message inside a message': frame(1, b'a', fin=False) + frame(1, b'b'),
        'length top bit': b'\x82\x7f' + struct.pack('>Q', 1 << 63),
    }
    for name, wire in bad.items():
        events = read(wire + frame(1, b'after'))
        assert [e[:2] for e in events] == [('error', 1002)], name


def test_close_payload_is_kept():
    assert read(frame(8, struct.pack('>H', 1000) + b'bye')) == [('message', 8, False, b'\x03\xe8bye')]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.lists(st.integers(min_value=0, max_value=400), max_size=5))
def test_garbage_gives_messages_or_one_error(data, cuts):
    events = read(data, [c for c in cuts if c <= len(data)], max_message_size=1000)
    errors = [e for e in events if e[0] == 'error']
    assert len(errors) <= 1
    if errors:
        assert events[-1] == errors[0] and errors[0][1] in (1002, 1009)
