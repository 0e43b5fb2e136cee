"""The RESP reader and writer with bytes alone: frames of every RESP2 and RESP3 type, split at every byte, values
round-tripped, and input that breaks the protocol refused with the text redis-server answers."""
import math

import pytest
from hypothesis import given, settings, strategies as st

from pipyx._native import RespLimits, RespParser
from pipyx.resp import (RespBigNumber, RespError, RespHead, RespProtocolError, RespPush, RespSet, RespVerbatim,
                        resp_command, resp_encode)

FRAMES = [
    (b'+OK\r\n', 'simple', 'OK'),
    (b'-ERR wrong type\r\n', 'error', RespError('ERR wrong type')),
    (b':-42\r\n', 'integer', -42),
    (b'$5\r\nhello\r\n', 'bulk', b'hello'),
    (b'$0\r\n\r\n', 'bulk', b''),
    (b'$-1\r\n', 'null', None),
    (b'*-1\r\n', 'null', None),
    (b'_\r\n', 'null', None),
    (b'*2\r\n$1\r\na\r\n:1\r\n', 'array', [b'a', 1]),
    (b'*0\r\n', 'array', []),
    (b'%1\r\n+k\r\n*1\r\n#t\r\n', 'map', {'k': [True]}),
    (b'~2\r\n:1\r\n:2\r\n', 'set', RespSet([1, 2])),
    (b',3.5\r\n', 'double', 3.5),
    (b'#f\r\n', 'boolean', False),
    (b'(12345678901234567890\r\n', 'big_number', RespBigNumber(12345678901234567890)),
    (b'=8\r\ntxt:abcd\r\n', 'verbatim', RespVerbatim('abcd')),
    (b'!9\r\nERR oops!\r\n', 'error', RespError('ERR oops!')),
    (b'>2\r\n+message\r\n$2\r\nhi\r\n', 'push', RespPush(['message', b'hi'])),
]


def frames_of(data, **limits):
    return RespParser(RespLimits(**limits)).feed(data)


@pytest.mark.parametrize('raw,type_name,value', FRAMES)
def test_each_type_reads_as_its_value_and_keeps_its_bytes(raw, type_name, value):
    [h] = frames_of(raw)
    assert h.type == type_name
    assert h.value == value and type(h.value) is type(value)
    assert h.raw == raw and h.encode() == raw and not h.changed


def test_a_command_gives_its_name_and_arguments():
    [h] = frames_of(b'*3\r\n$3\r\nset\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\n')
    assert (h.command, h.args, h.key) == ('SET', [b'key', b'va\r\nl'], b'key')
    [reply] = frames_of(b'+OK\r\n')
    assert reply.command is None and reply.args is None


def test_inline_commands_are_read_as_redis_server_reads_them():
    heads = frames_of(b'PING\r\n\r\nset  k   v\nGET k\r\n')
    assert [(h.type, h.command, h.args) for h in heads] == [('inline', 'PING', []), ('inline', 'SET', [b'k', b'v']),
                                                           ('inline', 'GET', [b'k'])]
    assert heads[1].raw == b'set  k   v\n'
    with pytest.raises(RespProtocolError, match='unexpected type byte'):
        frames_of(b'PING\r\n', inline=False)


def test_an_attribute_comes_with_the_value_after_it():
    raw = b'|1\r\n+ttl\r\n:3600\r\n$3\r\nabc\r\n'
    [h] = frames_of(raw + b'+OK\r\n')[:1]
    assert (h.type, h.value, h.attributes, h.raw) == ('bulk', b'abc', {'ttl': 3600}, raw)
    [nested] = frames_of(b'*2\r\n|1\r\n+a\r\n+b\r\n:1\r\n:2\r\n')
    assert nested.value == [1, 2]


def test_a_changed_head_is_written_anew():
    [h] = frames_of(b'*2\r\n$3\r\nGET\r\n$3\r\nabc\r\n')
    h.args = [b'user:' + h.key]
    assert h.changed and h.encode() == b'*2\r\n$3\r\nGET\r\n$8\r\nuser:abc\r\n'
    [r] = frames_of(b'$3\r\nabc\r\n')
    r.value = RespError('ERR blocked')
    assert r.encode() == b'-ERR blocked\r\n'
    assert resp_command('set', 'k', b'v', 10).raw == b'*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$2\r\n10\r\n'
    assert RespHead(b':7\r\n').value == 7
    with pytest.raises(ValueError):
        RespHead(b':7\r\n:8\r\n')


@pytest.mark.parametrize('data,message', [
    (b'$9223372036854775808\r\n', 'invalid bulk length'),          # 2^63
    (b'$-2\r\n', 'invalid bulk length'),
    (b'*-5\r\n', 'invalid multibulk length'),
    (b'*1\r\n$3\r\nabcde\r\n', 'not ended by CRLF'),
    (b'*1\r\n@x\r\n', "unexpected type byte '@'"),
    (b':12a\r\n', 'invalid integer'),
    (b'$5\nhello\r\n', 'not ended by CRLF'),
    (b'#x\r\n', 'invalid boolean'),
    (b'$11\r\n', 'invalid bulk length'),
    (b'*3\r\n', 'invalid multibulk length'),
    (b'*1\r\n*1\r\n*1\r\n:1\r\n', 'nesting deeper than 2'),
    (b'x' * 100, 'too big inline request'),
    (b'+' + b'x' * 100, 'a line of over 64 bytes'),
])
def test_broken_input_is_refused_with_redis_servers_words(data, message):
    p = RespParser(RespLimits(max_bulk_length=10, max_array_length=2, max_depth=2, max_inline_length=64))
    with pytest.raises(RespProtocolError, match=message):
        p.feed(data)
    with pytest.raises(RespProtocolError):
        p.feed(b'+OK\r\n')                   # nothing more is taken


def test_a_message_over_its_limit_is_refused_before_it_is_all_buffered():
    p = RespParser(RespLimits(max_message_size=1000))
    with pytest.raises(RespProtocolError, match='a message of over 1000 bytes'):
        p.feed(b'$5000\r\n' + b'x' * 10)


def test_a_frame_cut_short_is_pending():
    p = RespParser()
    assert p.feed(b'*2\r\n$3\r\nGET\r\n$3\r\nab') == [] and p.buffered
    assert [h.args for h in p.feed(b'c\r\n')] == [[b'abc']] and not p.buffered


# Hypothesis: any value the writer makes, read back, in any pieces.
line_text = st.text(st.characters(blacklist_categories=('Cs',), blacklist_characters='\r\n'), max_size=20)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-2**63, 2**63 - 1), st.binary(max_size=40),
    line_text, st.floats(allow_nan=False), st.builds(RespError, line_text),
    st.builds(RespBigNumber, st.integers(-10**30, 10**30)),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.builds(RespSet, st.lists(inner, max_size=4)),
    st.builds(RespPush, st.lists(inner, min_size=1, max_size=4)),
    st.dictionaries(st.one_of(st.binary(max_size=8), st.integers(-2**63, 2**63 - 1)), inner, max_size=3)),
    max_leaves=8)


def same(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict):
        return isinstance(b, dict) and len(a) == len(b) and all(k in b and same(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b and type(a) is type(b)


@settings(max_examples=40, deadline=None)
@given(st.lists(values, min_size=1, max_size=4), st.data())
def test_values_round_trip_split_anywhere(vals, data):
    wire = b''.join(resp_encode(v) for v in vals)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=6)))
    p, heads, at = RespParser(), [], 0
    for cut in cuts + [len(wire)]:
        heads += p.feed(wire[at:cut])
        at = cut
    assert b''.join(h.raw for h in heads) == wire
    assert len(heads) == len(vals) and all(same(h.value, v) for h, v in zip(heads, vals))


def test_every_split_of_a_pipeline_gives_the_same_frames():
    wire = b''.join(raw for raw, _, _ in FRAMES) + b'*2\r\n$3\r\nGET\r\n$1\r\nk\r\n'
    whole = [h.raw for h in frames_of(wire)]
    for i in range(len(wire) + 1):
        p = RespParser()
        assert [h.raw for h in p.feed(wire[:i]) + p.feed(wire[i:])] == whole


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=60))
def test_garbage_is_refused_or_read_never_crashes(junk):
    p = RespParser(RespLimits(inline=False))
    try:
        heads = p.feed(junk)
    except RespProtocolError as e:
        assert str(e).startswith('Protocol error')
    else:
        assert b''.join(h.raw for h in heads) == junk[:len(b''.join(h.raw for h in heads))]
        for h in heads:
            h.value, h.command
