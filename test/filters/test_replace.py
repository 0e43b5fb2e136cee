"""replace_*: callbacks whose answers take the place of the events; errors in them, and awaitables."""
import asyncio

import pytest

from pipyx import Data, Message, MessageEnd, MessageStart, StreamEnd
from pipyx.testing import pipeline
from test.filters.flow_support import flow  # noqa: F401  (the shared server fixture)
from test.helpers import simple_request, wait_for
from test.helpers.streams import KINDS, ended, feed, sample_stream, summary, until


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


# ----------------------------------------------------------------------------------------------- errors in callbacks

@pytest.mark.parametrize('bad', [lambda d: 42, lambda d: object(), lambda d: [b'ok', 3.5]])
def test_replace_returning_something_unusable_ends_the_stream(bad):
    p, c = pipeline(lambda p: p.replace_data(bad))
    feed(p, [Data(b'x'), Data(b'y'), StreamEnd()])       # must not raise
    errors = [e.error for e in c.events if isinstance(e, StreamEnd)]
    assert errors == ['RuntimeError'], c.events


@pytest.mark.parametrize('kind', KINDS)
def test_error_in_replace_callback_ends_the_stream(kind):
    p, c = pipeline(lambda p: getattr(p, 'replace_' + kind)(lambda x: {}['missing']))
    feed(p, sample_stream())
    assert [e.error for e in c.events if isinstance(e, StreamEnd)] == ['RuntimeError']
    assert isinstance(c.events[-1], StreamEnd)


# ------------------------------------------------------------------------------------ callbacks returning awaitables

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


# ------------------------------------------------------------------------------------------ whole bodies and limits

def test_replace_message_body_keeps_head_and_end():
    p, c = pipeline(lambda p: p.replace_message_body(lambda d: d.to_bytes().upper() + b'!'))
    feed(p, sample_stream())
    assert summary(c.events) == [('start', {'n': 1}), ('data', b'ABCD!'), ('end', {'t': 1}),
                                 ('start', {'n': 2}), ('data', b'!'), ('end', None), ('stream_end', None)]


def test_replace_message_body_with_a_constant_and_with_none():
    p, c = pipeline(lambda p: p.replace_message_body('same'))
    feed(p, sample_stream())
    assert [e.to_bytes() for e in c.events if isinstance(e, Data)] == [b'same', b'same']
    p, c = pipeline(lambda p: p.replace_message_body(lambda d: None))
    feed(p, sample_stream())
    assert summary(c.events) == [('start', {'n': 1}), ('end', {'t': 1}), ('start', {'n': 2}), ('end', None),
                                 ('stream_end', None)]


def test_replace_message_body_awaited():
    async def later(d):
        await asyncio.sleep(0.01)
        return d.to_bytes()[::-1]

    async def main():
        p, c = pipeline(lambda p: p.replace_message_body(later))
        feed(p, sample_stream())
        await until(ended(c))
        return c.events

    assert summary(asyncio.run(main()))[:3] == [('start', {'n': 1}), ('data', b'dcba'), ('end', {'t': 1})]


@pytest.mark.parametrize('kind', ['message', 'message_body'])
def test_replace_whole_message_past_size_limit_ends_the_stream(kind):
    calls = []
    p, c = pipeline(lambda p: getattr(p, 'replace_' + kind)(lambda x: calls.append(x), size_limit=3))
    feed(p, sample_stream() + [Data(b'late')])
    assert calls == []
    assert summary(c.events)[-1] == ('stream_end', 'BufferOverflow')
    assert sum(isinstance(e, StreamEnd) for e in c.events) == 1


def test_replace_message_body_over_http(flow):
    assert simple_request(flow.p_body, '/', 'POST', body=b'shout').body == b'SHOUT'


def test_replace_message_body_past_size_limit_over_http(flow):
    assert simple_request(flow.p_body, '/', 'POST', body=b'x' * 40).status == 502
    wait_for(lambda: flow.log_has('replace_message_body: a message body is over size_limit (16 bytes)'))
    assert simple_request(flow.p_body, '/', 'POST', body=b'ok').body == b'OK'
