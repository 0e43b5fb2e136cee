"""wait: events held until a condition holds, or the stream ended after a timeout."""
import asyncio

from pipyx import Data, MessageEnd, MessageStart, StreamEnd
from pipyx.testing import pipeline
from test.helpers.streams import ended, feed, summary, until


def test_wait_releases_held_events_in_order_when_condition_holds():
    async def main():
        state = {'open': False}
        checks = []

        def cond():
            checks.append(1)
            return state['open']

        p, c = pipeline(lambda p: p.wait(cond))
        feed(p, [MessageStart(), Data(b'1'), Data(b'2')])
        await asyncio.sleep(0.03)
        assert c.events == []
        assert len(checks) >= 3          # checked on each event and then by a timer
        state['open'] = True
        await until(lambda: len(c.events) == 3)
        feed(p, [Data(b'3'), MessageEnd(), StreamEnd()])   # once open, events pass straight on
        return c.events

    events = asyncio.run(main())
    assert summary(events) == [('start', None), ('data', b'123'), ('end', None), ('stream_end', None)]
    assert [e.to_bytes() for e in events if isinstance(e, Data)] == [b'1', b'2', b'3']


def test_wait_already_true_passes_at_once():
    p, c = pipeline(lambda p: p.wait(lambda: True))
    feed(p, [Data(b'a'), StreamEnd()])
    assert summary(c.events) == [('data', b'a'), ('stream_end', None)]


def test_wait_opened_by_a_later_event():
    # The condition is checked again on each new event.
    seen = []
    p, c = pipeline(lambda p: p.handle_data(lambda d: seen.append(d.to_bytes())).wait(lambda: b'go' in seen))

    async def main():
        feed(p, [Data(b'a'), Data(b'go'), Data(b'b')])
        return list(c.events)

    assert [e.to_bytes() for e in asyncio.run(main())] == [b'a', b'go', b'b']


def test_wait_timeout_ends_the_stream():
    async def main():
        p, c = pipeline(lambda p: p.wait(lambda: False, timeout=0.05))
        feed(p, [Data(b'a'), Data(b'b')])
        await asyncio.sleep(0.02)
        assert c.events == []
        await until(ended(c), timeout=1)
        # the stream is over: later input goes nowhere
        feed(p, [Data(b'late'), StreamEnd()])
        return c.events

    assert summary(asyncio.run(main())) == [('stream_end', 'ReadTimeout')]


def test_wait_timeout_not_reached_when_condition_turns_true():
    async def main():
        state = [False]
        p, c = pipeline(lambda p: p.wait(lambda: state[0], timeout=0.2))
        feed(p, [Data(b'a')])
        await asyncio.sleep(0.02)
        state[0] = True
        await until(lambda: c.events)
        await asyncio.sleep(0.25)
        feed(p, [StreamEnd()])
        return c.events

    assert summary(asyncio.run(main())) == [('data', b'a'), ('stream_end', None)]


def test_error_in_wait_condition_ends_the_stream():
    p, c = pipeline(lambda p: p.wait(lambda: 1 / 0))
    feed(p, [Data(b'a'), StreamEnd()])              # must not raise
    assert summary(c.events) == [('stream_end', 'RuntimeError')]
