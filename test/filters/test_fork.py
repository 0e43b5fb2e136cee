"""fork: copies of the stream to sub-pipelines, the stream itself unchanged."""
import asyncio

import pytest

from pipyx import Data, MessageEnd, MessageStart, StreamEnd
from pipyx.testing import layout as layout_with, pipeline
from test.helpers.streams import feed, start, summary


def recorder(log, name='fork'):
    return lambda q: q.handle_data(lambda d: log.append((name, d.to_bytes()))).handle_stream_end(
        lambda e: log.append((name, 'end'))).replace_data(b'dropped')


def test_fork_copies_events_and_leaves_the_stream_unchanged():
    log = []
    p, c = pipeline(lambda p: p.fork(recorder(log)))
    events = [MessageStart({'h': 1}), Data(b'ab'), MessageEnd(), StreamEnd()]
    feed(p, events)
    assert all(a is b for a, b in zip(c.events, events)) and len(c.events) == len(events)
    assert log == [('fork', b'ab'), ('fork', 'end')]


@pytest.mark.parametrize('count, n', [(3, 3), (0, 0), (['x', 'y'], 2), (lambda: 2, 2), (lambda: ['a'] * 4, 4)])
def test_fork_count(count, n):
    log = []
    p, c = pipeline(lambda p: p.fork(recorder(log), count=count))
    feed(p, [Data(b'a'), Data(b'b'), StreamEnd()])
    assert log == [('fork', b'a')] * n + [('fork', b'b')] * n + [('fork', 'end')] * n
    assert summary(c.events) == [('data', b'ab'), ('stream_end', None)]


def test_fork_count_evaluated_once_per_stream():
    calls = []
    layout = layout_with(lambda p: p.fork(lambda q: q.dump(), count=lambda: calls.append(1) or 1))
    pa, _ = start(layout)
    feed(pa, [Data(b'a'), Data(b'b'), Data(b'c')])
    assert len(calls) == 1


def test_fork_with_to_and_named_pipeline():
    log = []
    p, c = pipeline(lambda p: p.fork().to(recorder(log, 'inline')).fork('named').pipeline('named').handle_data(
        lambda d: log.append(('named', d.to_bytes()))))
    feed(p, [Data(b'z'), StreamEnd()])
    assert ('inline', b'z') in log and ('named', b'z') in log
    assert summary(c.events) == [('data', b'z'), ('stream_end', None)]


def test_fork_consuming_its_data_leaves_the_main_stream_alone():
    # "Copies every event": a fork that shifts its Data must not take the bytes from the main stream.
    p, c = pipeline(lambda p: p.fork(lambda q: q.handle_data(lambda d: d.shift(2))))
    feed(p, [MessageStart(), Data(b'abcdef'), MessageEnd(), StreamEnd()])
    assert summary(c.events) == [('start', None), ('data', b'abcdef'), ('end', None), ('stream_end', None)]


def test_fork_editing_a_head_leaves_the_main_stream_alone():
    def edit(e):
        e.head['path'] = '/changed'

    p, c = pipeline(lambda p: p.fork(lambda q: q.handle_message_start(edit)))
    feed(p, [MessageStart({'path': '/orig'}), MessageEnd(), StreamEnd()])
    assert summary(c.events)[0] == ('start', {'path': '/orig'})


def test_async_callback_in_a_fork_does_not_hold_the_main_stream():
    async def main():
        async def slow(d):
            await asyncio.sleep(0.05)

        p, c = pipeline(lambda p: p.fork(lambda q: q.handle_data(slow)))
        feed(p, [Data(b'a'), StreamEnd()])
        out = list(c.events)
        await asyncio.sleep(0.08)
        return out

    assert summary(asyncio.run(main())) == [('data', b'a'), ('stream_end', None)]


def test_error_in_fork_count_ends_the_stream():
    p, c = pipeline(lambda p: p.fork(lambda q: q.dump(), count=lambda: [][1]))
    feed(p, [Data(b'a'), StreamEnd()])              # must not raise
    assert summary(c.events) == [('stream_end', 'RuntimeError')]
