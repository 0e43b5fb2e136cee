"""The callback filters: handle_* and replace_*, errors in callbacks, and callbacks returning awaitables."""
import asyncio

import pytest

from pipyx import Data, Message, MessageEnd, MessageStart, StreamEnd
from pipyx.testing import pipeline
from test.helpers.streams import KINDS, ended, feed, sample_stream, summary, until


# ------------------------------------------------------------------ handle_*

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


def test_handle_message_body_up_to_size_limit():
    bodies = []
    p, c = pipeline(lambda p: p.handle_message(lambda m: bodies.append(m.body.to_bytes()), size_limit=4))
    feed(p, [MessageStart(), Data(b'abc'), Data(b'def'), Data(b'gh'), MessageEnd(), StreamEnd()])
    assert bodies == [b'abcd']
    # the stream itself is not cut
    assert summary(c.events)[1] == ('data', b'abcdefgh')


def test_handle_needs_a_callable():
    with pytest.raises(TypeError):
        pipeline(lambda p: p.handle_data('not callable'))


# ------------------------------------------------------------------ replace_*

def test_replace_data_with_bytes_str_and_data():
    p, c = pipeline(lambda p: p.replace_data(lambda d: d.to_bytes().upper())
                    .replace_data(lambda d: d.to_str() + '!')
                    .replace_data(lambda d: Data(b'<').push(d).push(b'>')))
    feed(p, [MessageStart(), Data(b'ab'), Data(b'c'), MessageEnd(), StreamEnd()])
    assert [e.to_bytes() for e in c.events if isinstance(e, Data)] == [b'<AB!>', b'<C!>']
    assert summary(c.events)[0] == ('start', None)
    assert summary(c.events)[-2:] == [('end', None), ('stream_end', None)]


def test_replace_returning_none_drops():
    p, c = pipeline(lambda p: p.replace_data(lambda d: None).replace_message_end(None))
    feed(p, sample_stream())
    assert summary(c.events) == [('start', {'n': 1}), ('start', {'n': 2}), ('stream_end', None)]


def test_replace_returning_a_list():
    p, c = pipeline(lambda p: p.replace_data(lambda d: [d, b'|', 'x', Data(b'y'), [b'nested']]))
    feed(p, [MessageStart(), Data(b'a'), MessageEnd()])
    assert [e.to_bytes() for e in c.events if isinstance(e, Data)] == [b'a', b'|', b'x', b'y', b'nested']


def test_replace_returning_events_of_other_kinds():
    p, c = pipeline(lambda p: p.replace_message_start(lambda e: [MessageStart({'new': e.head}), Data(b'pre')]))
    feed(p, sample_stream())
    assert summary(c.events)[:3] == [('start', {'new': {'n': 1}}), ('data', b'preabcd'), ('end', {'t': 1})]


def test_replace_message_with_a_message():
    seen = []

    def swap(m):
        seen.append((m.head, m.body.to_bytes(), m.tail))
        return Message({'reply-to': m.head['n']}, m.body.to_bytes()[::-1], {'done': True})

    p, c = pipeline(lambda p: p.replace_message(swap))
    feed(p, sample_stream())
    assert seen == [({'n': 1}, b'abcd', {'t': 1}), ({'n': 2}, b'', None)]
    assert summary(c.events) == [('start', {'reply-to': 1}), ('data', b'dcba'), ('end', {'done': True}),
                                 ('start', {'reply-to': 2}), ('end', {'done': True}), ('stream_end', None)]


def test_replace_message_with_str_and_list():
    p, c = pipeline(lambda p: p.replace_message(lambda m: ['body of %d' % m.head['n'], Message('x')]))
    feed(p, sample_stream())
    assert summary(c.events) == [('data', b'body of 1'), ('start', None), ('data', b'x'), ('end', None),
                                 ('data', b'body of 2'), ('start', None), ('data', b'x'), ('end', None),
                                 ('stream_end', None)]


def test_replace_with_constant_values():
    p, c = pipeline(lambda p: p.replace_data('X').replace_message_end(MessageEnd('const')))
    feed(p, sample_stream())
    assert summary(c.events) == [('start', {'n': 1}), ('data', b'XX'), ('end', 'const'),
                                 ('start', {'n': 2}), ('end', 'const'), ('stream_end', None)]


def test_replace_message_with_a_constant_message():
    p, c = pipeline(lambda p: p.replace_message(Message({'status': 200}, 'hi')))
    feed(p, sample_stream())
    assert summary(c.events) == [('start', {'status': 200}), ('data', b'hi'), ('end', None)] * 2 + \
        [('stream_end', None)]


def test_replace_stream_start_and_end():
    p, c = pipeline(lambda p: p.replace_stream_start(lambda e: [Data(b'hello '), e])
                    .replace_stream_end(lambda e: [Data(b' bye'), StreamEnd('ConnectionReset')]))
    feed(p, [Data(b'a'), Data(b'b'), StreamEnd()])
    assert summary(c.events) == [('data', b'hello ab bye'), ('stream_end', 'ConnectionReset')]


def test_replace_stream_start_only_replaces_the_first_event():
    calls = []
    p, c = pipeline(lambda p: p.replace_stream_start(lambda e: calls.append(e) or Data(b'first')))
    feed(p, [Data(b'a'), Data(b'b'), StreamEnd()])
    assert len(calls) == 1
    assert summary(c.events) == [('data', b'firstb'), ('stream_end', None)]


def test_replace_message_end_sees_tail():
    p, c = pipeline(lambda p: p.replace_message_end(lambda e: MessageEnd({'was': e.tail})))
    feed(p, sample_stream())
    assert [x for x in summary(c.events) if x[0] == 'end'] == [('end', {'was': {'t': 1}}), ('end', {'was': None})]


@pytest.mark.parametrize('bad', [lambda d: 42, lambda d: object(), lambda d: [b'ok', 3.5]])
def test_replace_returning_something_unusable_ends_the_stream(bad):
    p, c = pipeline(lambda p: p.replace_data(bad))
    feed(p, [Data(b'x'), Data(b'y'), StreamEnd()])       # must not raise
    errors = [e.error for e in c.events if isinstance(e, StreamEnd)]
    assert errors == ['RuntimeError'], c.events


# ------------------------------------------------------------------ errors in callbacks

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


@pytest.mark.parametrize('kind', KINDS)
def test_error_in_replace_callback_ends_the_stream(kind):
    p, c = pipeline(lambda p: getattr(p, 'replace_' + kind)(lambda x: {}['missing']))
    feed(p, sample_stream())
    assert [e.error for e in c.events if isinstance(e, StreamEnd)] == ['RuntimeError']
    assert isinstance(c.events[-1], StreamEnd)


def test_error_later_in_the_stream_keeps_what_went_before():
    def cb(d):
        if d.to_bytes() == b'cd':
            raise RuntimeError('no')

    p, c = pipeline(lambda p: p.handle_data(cb))
    feed(p, sample_stream() + [Data(b'more')])
    assert summary(c.events) == [('start', {'n': 1}), ('data', b'ab'), ('stream_end', 'RuntimeError')]


def test_error_in_branch_condition_ends_the_stream():
    p, c = pipeline(lambda p: p.branch(lambda: 1 / 0, lambda q: q.replace_data('x')))
    feed(p, [Data(b'a'), StreamEnd()])              # must not raise
    assert summary(c.events) == [('stream_end', 'RuntimeError')]


def test_error_in_fork_count_ends_the_stream():
    p, c = pipeline(lambda p: p.fork(lambda q: q.dump(), count=lambda: [][1]))
    feed(p, [Data(b'a'), StreamEnd()])              # must not raise
    assert summary(c.events) == [('stream_end', 'RuntimeError')]


def test_error_in_wait_condition_ends_the_stream():
    p, c = pipeline(lambda p: p.wait(lambda: 1 / 0))
    feed(p, [Data(b'a'), StreamEnd()])              # must not raise
    assert summary(c.events) == [('stream_end', 'RuntimeError')]


# ------------------------------------------------------------------ callbacks returning awaitables

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


def test_async_replace_keeps_order_whatever_the_delays():
    async def later(d):
        n = int(d.to_bytes())
        await asyncio.sleep(0.002 * (5 - n))
        return b'<%d>' % n

    async def main():
        p, c = pipeline(lambda p: p.replace_data(later))
        for i in range(5):
            p.input(Data(b'%d' % i))
        p.input(StreamEnd())
        await until(ended(c))
        return c.events

    events = asyncio.run(main())
    assert [e.to_bytes() for e in events if isinstance(e, Data)] == [b'<0>', b'<1>', b'<2>', b'<3>', b'<4>']
    assert isinstance(events[-1], StreamEnd)


def test_async_replace_message():
    async def answer(m):
        await asyncio.sleep(0.001)
        return Message({'re': m.head['n']}, m.body)

    async def main():
        p, c = pipeline(lambda p: p.replace_message(answer))
        feed(p, sample_stream())
        await until(ended(c))
        return c.events

    assert summary(asyncio.run(main())) == [('start', {'re': 1}), ('data', b'abcd'), ('end', None),
                                            ('start', {'re': 2}), ('end', None), ('stream_end', None)]


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


def test_chained_async_filters():
    async def up(d):
        await asyncio.sleep(0.001)
        return d.to_bytes().upper()

    async def wrap(d):
        await asyncio.sleep(0.003)
        return b'[' + d.to_bytes() + b']'

    async def main():
        p, c = pipeline(lambda p: p.replace_data(up).replace_data(wrap))
        feed(p, [Data(b'a'), Data(b'b'), Data(b'c'), StreamEnd()])
        await until(ended(c))
        return c.events

    assert [e.to_bytes() for e in asyncio.run(main()) if isinstance(e, Data)] == [b'[A]', b'[B]', b'[C]']


def test_plain_future_is_awaited():
    async def main():
        loop = asyncio.get_running_loop()

        def later(d):
            f = loop.create_future()
            loop.call_later(0.005, f.set_result, d.to_bytes() * 2)
            return f

        p, c = pipeline(lambda p: p.replace_data(later))
        feed(p, [Data(b'ab'), StreamEnd()])
        await until(ended(c))
        return c.events

    assert summary(asyncio.run(main())) == [('data', b'abab'), ('stream_end', None)]


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
