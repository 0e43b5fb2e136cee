"""pack: messages coalesced by count, size and time; the batch boundaries never change the bytes."""
import asyncio

import pytest
from hypothesis import given, settings, strategies as st

from pipyx import Data, MessageEnd, MessageStart, StreamEnd
from pipyx.testing import layout, pipeline
from test.helpers.streams import ended, feed, summary, until


def msgs(bodies, head=None):
    out = []
    for i, b in enumerate(bodies):
        out += [MessageStart({'n': i} if head is None else head), Data(b), MessageEnd({'t': i})]
    return out


def test_pack_by_count_keeps_the_first_head_and_the_last_tail():
    p, c = pipeline(lambda p: p.pack(2))
    feed(p, msgs([b'a', b'b', b'c', b'd']))
    assert summary(c.events) == [('start', {'n': 0}), ('data', b'ab'), ('end', {'t': 1}),
                                 ('start', {'n': 2}), ('data', b'cd'), ('end', {'t': 3})]


def test_pack_prefix_separator_postfix():
    p, c = pipeline(lambda p: p.pack(3, prefix='[', separator=b',', postfix=']'))
    feed(p, msgs([b'1', b'2', b'3']))
    assert summary(c.events)[1] == ('data', b'[1,2,3]')


def test_pack_by_size_sends_a_batch_early():
    p, c = pipeline(lambda p: p.pack(100, max_size=5))
    feed(p, msgs([b'abc', b'de', b'f']))
    assert summary(c.events) == [('start', {'n': 0}), ('data', b'abcde'), ('end', {'t': 1})]


def test_pack_stream_end_sends_what_is_whole_and_drops_a_cut_message():
    p, c = pipeline(lambda p: p.pack(10))
    feed(p, msgs([b'a', b'b']) + [MessageStart(), Data(b'cut'), StreamEnd()])
    assert summary(c.events) == [('start', {'n': 0}), ('data', b'ab'), ('end', None), ('stream_end', None)]


def test_pack_joins_small_pieces_into_few_buffers():
    p, c = pipeline(lambda p: p.pack(1000))
    feed(p, msgs([b'x'] * 1000))
    (body,) = [e for e in c.events if isinstance(e, Data)]
    assert body.to_bytes() == b'x' * 1000
    assert len(body.chunks()) == 1


def test_pack_timeout_sends_a_partial_batch_when_input_pauses():
    async def main():
        p, c = pipeline(lambda p: p.pack(10, timeout=0.05))
        feed(p, msgs([b'a', b'b']))
        assert c.events == []
        await until(lambda: c.events, timeout=2)
        return c.events

    assert summary(asyncio.run(main())) == [('start', {'n': 0}), ('data', b'ab'), ('end', None)]


def test_pack_interval_sends_batches_while_input_keeps_coming():
    async def main():
        p, c = pipeline(lambda p: p.pack(1000, interval=0.1))
        for i in range(40):
            feed(p, msgs([b'%d,' % i]))
            await asyncio.sleep(0.01)
        feed(p, [StreamEnd()])
        return c.events

    events = asyncio.run(main())
    bodies = [e.to_bytes() for e in events if isinstance(e, Data)]
    assert len(bodies) >= 2
    assert b''.join(bodies) == b''.join(b'%d,' % i for i in range(40))


def test_pack_over_size_limit_ends_the_stream():
    p, c = pipeline(lambda p: p.pack(10, size_limit=4))
    feed(p, msgs([b'abc', b'de', b'f']) + [StreamEnd()])
    assert summary(c.events) == [('stream_end', 'BufferOverflow')]


@pytest.mark.parametrize('bad', [dict(batch_size=0), dict(max_size=-1), dict(timeout=-1)])
def test_pack_rejects_bad_options(bad):
    with pytest.raises(ValueError):
        layout(lambda p: p.pack(**bad))


def batches_of(events):
    out, cur = [], None
    for e in events:
        if isinstance(e, MessageStart):
            cur = b''
        elif isinstance(e, Data):
            cur += e.to_bytes()
        elif isinstance(e, MessageEnd):
            out.append(cur)
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.binary(max_size=8), max_size=4), max_size=12), st.integers(1, 5), st.integers(0, 20),
       st.sampled_from([0, 0.5, 0.999, 1]))
def test_pack_output_is_the_input_bodies_in_order(bodies, batch, max_size, vacancy):
    p, c = pipeline(lambda p: p.pack(batch, max_size=max_size or None, separator=b'|', vacancy=vacancy))
    for pieces in bodies:
        feed(p, [MessageStart()] + [Data(x) for x in pieces] + [MessageEnd()])
    feed(p, [StreamEnd()])
    assert isinstance(c.events[-1], StreamEnd) and c.events[-1].error is None
    batches = batches_of(c.events)
    # Whole messages only, `batch` of them at most, so at least this many batches; bodies joined by '|' within a
    # batch, so with '|' between batches too the output is the input.
    assert len(batches) >= -(-len(bodies) // batch)
    if not max_size:
        assert len(batches) == -(-len(bodies) // batch)
    assert b'|'.join(batches) == b'|'.join(b''.join(pieces) for pieces in bodies)


def test_pack_vacancy_decides_which_pieces_are_joined():
    pieces = [b'a' * 100, b'c' * 100, b'b' * 3000, b'd' * 5000]
    for vacancy, chunks in [(0, 2), (0.5, 3), (1, 4)]:
        p, c = pipeline(lambda p: p.pack(4, vacancy=vacancy))
        feed(p, msgs(pieces))
        (body,) = [e for e in c.events if isinstance(e, Data)]
        assert body.to_bytes() == b''.join(pieces)
        # 0: all under 4 KiB copied together (a+c+b, d); 0.5: under 2 KiB (a+c; b, d kept); 1: none.
        assert len(body.chunks()) == chunks, vacancy
    p, c = pipeline(lambda p: p.pack(100, vacancy=1))
    feed(p, msgs([b'x'] * 100))
    (body,) = [e for e in c.events if isinstance(e, Data)]
    assert len(body.chunks()) == 100 and body.to_bytes() == b'x' * 100


@pytest.mark.parametrize('vacancy', [-0.1, 1.5])
def test_pack_vacancy_outside_0_to_1_is_refused(vacancy):
    with pytest.raises(ValueError, match='vacancy'):
        layout(lambda p: p.pack(2, vacancy=vacancy))
