"""replay: the recorded stream runs again through a new sub-pipeline when the last one asks, with a limit."""
import asyncio

from pipyx import Data, MessageEnd, MessageStart, StreamEnd
from pipyx.testing import pipeline
from test.filters.flow_support import flow  # noqa: F401  (the shared server fixture)
from test.helpers import simple_request, wait_for
from test.helpers.streams import ended, feed, summary, until


def flaky(fails):
    """A sub-pipeline that answers each whole message with a replay the first `fails` times, then echoes it."""
    left = [fails]

    def answer(m):
        if left[0] > 0:
            left[0] -= 1
            return StreamEnd('Replay')
        return m
    return lambda q: q.replace_message(answer)


MSG = [MessageStart(), Data(b'ab'), MessageEnd(), StreamEnd()]
ECHO = [('start', None), ('data', b'ab'), ('end', None), ('stream_end', None)]


def run(build, events):
    async def main():
        p, c = pipeline(build)
        feed(p, events)
        await until(ended(c))
        return c.events
    return asyncio.run(main())


def test_replay_runs_the_recorded_stream_again():
    events = run(lambda p: p.replay().to(flaky(2)), MSG)
    assert summary(events) == ECHO


def test_replay_input_that_arrives_during_the_delay_is_replayed_too():
    async def main():
        p, c = pipeline(lambda p: p.replay(delay=0.03).to(flaky(1)))
        feed(p, [MessageStart(), Data(b'a')])
        await asyncio.sleep(0.01)
        feed(p, [Data(b'b'), MessageEnd(), StreamEnd()])
        await until(ended(c))
        return c.events

    assert summary(asyncio.run(main())) == [('start', None), ('data', b'ab'), ('end', None), ('stream_end', None)]


def test_replay_limit_reached_lets_the_replay_end_go_on():
    events = run(lambda p: p.replay(max_replays=2).to(flaky(5)), MSG)
    assert summary(events) == [('stream_end', 'Replay')]


def test_replay_delay_may_be_a_callable():
    delays = []
    events = run(lambda p: p.replay(delay=lambda: delays.append(1) or 0.001).to(flaky(2)), MSG)
    assert delays == [1, 1] and summary(events) == ECHO


def test_replay_past_buffer_limit_ends_with_buffer_overflow():
    events = run(lambda p: p.replay(buffer_limit=1).to(flaky(1)), MSG)
    assert summary(events) == [('stream_end', 'BufferOverflow')]


def test_replay_other_ends_go_on():
    events = run(lambda p: p.replay().to(lambda q: q.replace_data(StreamEnd('ReadError'))), [Data(b'x')])
    assert summary(events) == [('stream_end', 'ReadError')]


def test_replay_retries_a_flaky_upstream_over_http(flow):
    r = simple_request(flow.p_replay, '/flaky/2')
    assert (r.status, r.body) == (200, b'ok after retries')


def test_replay_limit_over_http_is_reported(flow):
    r = simple_request(flow.p_replay_limit, '/flaky/5')
    assert r.status == 502
    wait_for(lambda: flow.log_has('replay: still asked to replay after max_replays (1)'))
