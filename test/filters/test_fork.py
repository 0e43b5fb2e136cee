"""fork: copies of the stream to sub-pipelines, the stream itself unchanged."""
import asyncio

import pytest

from pipyx import Data, Message, MessageEnd, MessageStart, StreamEnd, ctx
from pipyx.testing import layout as layout_with, pipeline
from test.filters.flow_support import flow  # noqa: F401  (the shared server fixture)
from test.helpers import simple_request, wait_for
from test.helpers.streams import ended, feed, start, summary, until


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


# ---------------------------------------------------------------------------- start arguments, fork_join, fork_race

def test_fork_gives_each_fork_its_item_and_its_own_context():
    seen = []
    p, c = pipeline(lambda p: p.fork(lambda q: q.on_start(lambda item: setattr(ctx, 'item', item))
                                     .handle_data(lambda d: seen.append((ctx.item, d.to_bytes()))),
                                     count=['x', 'y']).handle_data(lambda d: seen.append((ctx.item, 'main'))),
                    item=None)
    feed(p, [Data(b'a'), StreamEnd()])
    assert seen == [('x', b'a'), ('y', b'a'), (None, 'main')]


def test_fork_join_holds_the_stream_until_every_fork_ends():
    async def main():
        async def slow(e):
            await asyncio.sleep(0.03)

        p, c = pipeline(lambda p: p.fork_join(lambda q: q.handle_stream_end(slow), count=2))
        feed(p, [Data(b'a'), Data(b'b'), StreamEnd()])
        assert c.events == []
        await until(ended(c))
        return c.events

    assert summary(asyncio.run(main())) == [('data', b'ab'), ('stream_end', None)]


def test_fork_join_forks_that_end_at_once_and_no_forks():
    p, c = pipeline(lambda p: p.fork_join(lambda q: q.replace_data(StreamEnd()), count=3))
    feed(p, [Data(b'a'), Data(b'b'), StreamEnd()])
    assert summary(c.events) == [('data', b'ab'), ('stream_end', None)]
    p, c = pipeline(lambda p: p.fork_join(lambda q: q.dump(), count=[]))
    feed(p, [Data(b'a'), StreamEnd()])
    assert summary(c.events) == [('data', b'a'), ('stream_end', None)]


def test_fork_join_timeout_ends_the_forks_and_the_stream():
    ended_forks = []

    async def main():
        p, c = pipeline(lambda p: p.fork_join(lambda q: q.handle_stream_end(lambda e: ended_forks.append(e)),
                                              count=2, timeout=0.05))
        feed(p, [Data(b'a')])                           # the forks never end by themselves
        await until(ended(c))
        feed(p, [Data(b'late'), StreamEnd()])
        return c.events

    assert summary(asyncio.run(main())) == [('stream_end', 'ReadTimeout')]
    assert ended_forks == []                             # shut down, not fed an end


def test_fork_race_first_answer_wins():
    async def main():
        async def answer(m):
            await asyncio.sleep(ctx.item)
            return Message('after %s' % ctx.item)

        p, c = pipeline(lambda p: p.fork_race(lambda q: q.on_start(lambda item: setattr(ctx, 'item', item))
                                              .replace_message(answer),
                                              count=[0.2, 0.01, 0.1]), item=None)
        feed(p, [MessageStart(), Data(b'q'), MessageEnd()])
        await until(lambda: any(isinstance(e, MessageEnd) for e in c.events))
        await asyncio.sleep(0.25)
        return c.events

    assert summary(asyncio.run(main())) == [('start', None), ('data', b'after 0.01'), ('end', None)]


def test_fork_race_losers_are_ended_their_connections_closed():
    async def main():
        connected, closed = asyncio.Event(), asyncio.Event()

        async def upstream(reader, writer):          # a slow upstream: reads, never answers
            connected.set()
            while await reader.read(100):
                pass
            closed.set()
            writer.close()

        server = await asyncio.start_server(upstream, '127.0.0.1', 0)
        port = server.sockets[0].getsockname()[1]

        async def fast(d):
            await connected.wait()                   # the loser is connected before the winner answers
            return b'fast answer'

        p, c = pipeline(lambda p: p.fork_race(['slow', 'fast']).to(lambda q: q
            .on_start(lambda item: setattr(ctx, 'item', item))
            .branch(lambda: ctx.item == 'fast', lambda r: r.replace_data(fast),
                    lambda r: r.connect('127.0.0.1:%d' % port))), item=None)
        feed(p, [Data(b'question')])
        await asyncio.wait_for(closed.wait(), 2)
        server.close()
        return c.events

    assert summary(asyncio.run(main())) == [('data', b'fast answer')]


def test_fork_race_where_every_fork_fails_ends_with_the_last_failure():
    p, c = pipeline(lambda p: p.fork_race(lambda q: q.replace_data(lambda d: 1 / 0), count=3))
    feed(p, [Data(b'a'), StreamEnd()])
    assert summary(c.events) == [('stream_end', 'RuntimeError')]


def test_fork_join_over_http_waits_for_all_forks(flow):
    assert simple_request(flow.p_join, '/j1').body == b'a,b,c'


def test_fork_race_over_http(flow):
    assert simple_request(flow.p_race, '/r').body == b'winner: fast'


def test_fork_race_over_http_all_failing(flow):
    assert simple_request(flow.p_race, '/allfail').status == 500
    wait_for(lambda: flow.log_has('main.py:%d: RuntimeError: fork' % flow.line_of('RACE-RAISE')))
    assert simple_request(flow.p_race, '/r').body == b'winner: fast'
