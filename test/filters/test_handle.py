"""handle_*: callbacks that see events and pass them on unchanged; errors in them, and awaitables."""
import asyncio

import pytest

from pipyx import Data, Message, MessageEnd, MessageStart, StreamEnd
from pipyx.testing import pipeline
from test.filters.flow_support import flow  # noqa: F401  (the shared server fixture)
from test.helpers import RawClient
from test.helpers.streams import KINDS, ended, feed, sample_stream, summary, until


def test_handle_kinds_see_the_right_events_and_pass_everything_unchanged():
    for kind in KINDS:
        calls = []
        p, c = pipeline(lambda p: getattr(p, 'handle_' + kind)(calls.append))
        events = sample_stream()
        feed(p, events)
        assert len(c.events) == len(events), kind
        assert all(a is b for a, b in zip(c.events, events)), kind
        if kind == 'stream_start':
            assert len(calls) == 1 and calls[0] is events[0]
        elif kind == 'message_start':
            assert [id(x) for x in calls] == [id(events[0]), id(events[4])]
        elif kind == 'data':
            assert [id(x) for x in calls] == [id(events[1]), id(events[2])]
        elif kind == 'message_end':
            assert [id(x) for x in calls] == [id(events[3]), id(events[5])]
        elif kind == 'stream_end':
            assert [id(x) for x in calls] == [id(events[6])]
        else:
            assert [type(m) for m in calls] == [Message, Message]
            assert [(m.head, m.body.to_bytes(), m.tail) for m in calls] == [({'n': 1}, b'abcd', {'t': 1}),
                                                                            ({'n': 2}, b'', None)]


def test_handle_stream_start_when_the_stream_starts_with_data():
    calls = []
    p, c = pipeline(lambda p: p.handle_stream_start(calls.append))
    feed(p, [Data(b'x'), Data(b'y'), StreamEnd()])
    assert [x.to_bytes() for x in calls] == [b'x']
    assert summary(c.events) == [('data', b'xy'), ('stream_end', None)]


def test_handle_ignores_what_the_callback_returns():
    p, c = pipeline(lambda p: p.handle_data(lambda d: Data(b'other')).handle_message(lambda m: [StreamEnd('X')]))
    feed(p, sample_stream())
    assert summary(c.events) == summary(sample_stream())


def test_handle_is_called_before_the_event_goes_on():
    order = []
    p, _ = pipeline(lambda p: p.handle_data(lambda d: order.append(('cb', d.to_bytes()))).handle_data(
        lambda d: order.append(('next', d.to_bytes()))))
    feed(p, [Data(b'1'), Data(b'2')])
    assert order == [('cb', b'1'), ('next', b'1'), ('cb', b'2'), ('next', b'2')]


def test_handle_message_past_size_limit_ends_the_stream_with_buffer_overflow():
    bodies = []
    p, c = pipeline(lambda p: p.handle_message(lambda m: bodies.append(m.body.to_bytes()), size_limit=4))
    feed(p, [MessageStart(), Data(b'abc'), Data(b'd'), Data(b'e'), MessageEnd(), StreamEnd()])
    assert bodies == []
    # what went before the limit went on; then the stream ended, once
    assert summary(c.events) == [('start', None), ('data', b'abcd'), ('stream_end', 'BufferOverflow')]


def test_handle_message_truncated_at_size_limit_when_asked():
    bodies = []
    p, c = pipeline(lambda p: p.handle_message(lambda m: bodies.append(m.body.to_bytes()), size_limit=4,
                                               truncate=True))
    feed(p, [MessageStart(), Data(b'abc'), Data(b'def'), Data(b'gh'), MessageEnd(), StreamEnd()])
    assert bodies == [b'abcd']
    # the stream itself is not cut
    assert summary(c.events) == [('start', None), ('data', b'abcdefgh'), ('end', None), ('stream_end', None)]


def test_handle_message_at_size_limit_is_whole():
    bodies = []
    p, c = pipeline(lambda p: p.handle_message(lambda m: bodies.append(m.body.to_bytes()), size_limit=4))
    feed(p, [MessageStart(), Data(b'ab'), Data(b'cd'), MessageEnd(), StreamEnd()])
    assert bodies == [b'abcd']
    assert summary(c.events) == [('start', None), ('data', b'abcd'), ('end', None), ('stream_end', None)]


def test_handle_message_body_gets_each_whole_body():
    bodies = []
    p, c = pipeline(lambda p: p.handle_message_body(lambda d: bodies.append(d.to_bytes())))
    events = sample_stream()
    feed(p, events)
    assert bodies == [b'abcd', b'']
    assert all(a is b for a, b in zip(c.events, events)) and len(c.events) == len(events)


def test_handle_message_body_over_http(flow):
    body = b'chunk' * 1000
    head = b'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'
    with RawClient(flow.p_body_seen) as c:
        c.send(head)
        for i in range(0, len(body), 1000):              # the body in several reads
            c.send(b'%x\r\n%s\r\n' % (1000, body[i:i + 1000]))
        c.send(b'0\r\n\r\n')
        assert c.read_response().body == b'seen 5000 bytes'


def test_handle_message_body_past_size_limit():
    p, c = pipeline(lambda p: p.handle_message_body(lambda d: None, size_limit=3))
    feed(p, sample_stream())
    assert summary(c.events) == [('start', {'n': 1}), ('data', b'ab'), ('stream_end', 'BufferOverflow')]


def test_handle_needs_a_callable():
    with pytest.raises(TypeError):
        pipeline(lambda p: p.handle_data('not callable'))


# ----------------------------------------------------------------------------------------------- errors in callbacks

@pytest.mark.parametrize('kind', KINDS)
def test_error_in_handle_callback_ends_the_stream(kind):
    def boom(x):
        raise ValueError('boom')

    p, c = pipeline(lambda p: getattr(p, 'handle_' + kind)(boom))
    feed(p, sample_stream())          # nothing raised
    assert isinstance(c.events[-1], StreamEnd) and c.events[-1].error == 'RuntimeError'
    assert sum(isinstance(e, StreamEnd) for e in c.events) == 1
    # what came before the failing callback went out; nothing after
    assert summary(c.events[:-1]) == summary(sample_stream())[:len(summary(c.events[:-1]))]


def test_error_later_in_the_stream_keeps_what_went_before():
    def cb(d):
        if d.to_bytes() == b'cd':
            raise RuntimeError('no')

    p, c = pipeline(lambda p: p.handle_data(cb))
    feed(p, sample_stream() + [Data(b'more')])
    assert summary(c.events) == [('start', {'n': 1}), ('data', b'ab'), ('stream_end', 'RuntimeError')]


# ------------------------------------------------------------------------------------ callbacks returning awaitables

def test_async_handle_holds_events_until_done():
    log = []

    async def slow(d):
        log.append(('start', d.to_bytes()))
        await asyncio.sleep(0.02)
        log.append(('done', d.to_bytes()))

    async def main():
        p, c = pipeline(lambda p: p.handle_data(slow))
        feed(p, [MessageStart(), Data(b'1'), Data(b'2'), MessageEnd(), StreamEnd()])
        # the first Data waits for its callback; everything after it waits too
        assert summary(c.events) == [('start', None)]
        await asyncio.sleep(0.005)
        assert summary(c.events) == [('start', None)]
        await until(ended(c))
        return c.events

    events = asyncio.run(main())
    assert summary(events) == [('start', None), ('data', b'12'), ('end', None), ('stream_end', None)]
    assert [e.to_bytes() for e in events if isinstance(e, Data)] == [b'1', b'2']
    # one callback at a time, in order
    assert log == [('start', b'1'), ('done', b'1'), ('start', b'2'), ('done', b'2')]


def test_async_stream_end_handler_delays_the_end():
    async def main():
        done = []

        async def cleanup(e):
            await asyncio.sleep(0.01)
            done.append(True)

        p, c = pipeline(lambda p: p.handle_stream_end(cleanup))
        feed(p, [Data(b'x'), StreamEnd()])
        assert summary(c.events) == [('data', b'x')]
        await until(ended(c))
        assert done == [True]
        return c.events

    assert summary(asyncio.run(main())) == [('data', b'x'), ('stream_end', None)]


def test_async_error_ends_the_stream():
    async def bad(d):
        await asyncio.sleep(0.001)
        raise KeyError('x')

    async def main():
        p, c = pipeline(lambda p: p.handle_data(bad))
        feed(p, [MessageStart(), Data(b'a'), Data(b'b'), MessageEnd(), StreamEnd()])
        await until(ended(c))
        await asyncio.sleep(0.01)
        return c.events

    events = asyncio.run(main())
    assert summary(events) == [('start', None), ('stream_end', 'RuntimeError')]
