"""repeat: the recorded stream runs through a new sub-pipeline while the condition holds."""
import asyncio

import pytest

from pipyx import Data, StreamEnd
from pipyx.config import ScriptError
from pipyx.testing import pipeline
from test.filters.flow_support import flow  # noqa: F401  (the shared server fixture)
from test.helpers import simple_request, wait_for
from test.helpers.streams import ended, feed, summary, until


def run(build, events, **variables):
    async def main():
        p, c = pipeline(build, **variables)
        feed(p, events)
        await until(ended(c))
        return c.events
    return asyncio.run(main())


def test_repeat_runs_the_recorded_stream_again_while_the_condition_holds():
    runs, ends = [], []
    events = run(lambda p: p.repeat(lambda end: ends.append(end) or len(ends) < 3).to(
        lambda q: q.handle_data(lambda d: runs.append(d.to_bytes())).replace_data(lambda d: d.to_bytes() + b'.')),
        [Data(b'a'), Data(b'b'), StreamEnd()])
    assert runs == [b'a', b'b'] * 3
    assert summary(events) == [('data', b'a.b.' * 3), ('stream_end', None)]


def test_repeat_condition_sees_the_end_and_may_await():
    ends = []

    async def cond(end):
        ends.append(end.error)
        await asyncio.sleep(0.005)
        return len(ends) < 2

    events = run(lambda p: p.repeat(cond).to(lambda q: q.replace_data(StreamEnd('ReadError'))), [Data(b'x')])
    assert ends == ['ReadError', 'ReadError']
    assert summary(events) == [('stream_end', 'ReadError')]


def test_repeat_past_buffer_limit_cannot_run_again():
    events = run(lambda p: p.repeat(lambda end: True, buffer_limit=3).to(lambda q: q.dump()),
                 [Data(b'ab'), Data(b'cd'), StreamEnd()])
    assert summary(events) == [('data', b'abcd'), ('stream_end', 'BufferOverflow')]


def test_repeat_condition_raising_ends_the_stream():
    events = run(lambda p: p.repeat(lambda end: 1 / 0).to(lambda q: q.dump()), [Data(b'a'), StreamEnd()])
    assert summary(events) == [('data', b'a'), ('stream_end', 'RuntimeError')]


def test_repeat_needs_a_callable():
    with pytest.raises(ScriptError):
        pipeline(lambda p: p.repeat(True).to(lambda q: q.dump()))


def test_repeat_over_http(flow):
    assert simple_request(flow.p_repeat, '/').body == b'tries=3'


def test_repeat_condition_raising_over_http(flow):
    assert simple_request(flow.p_repeat, '/raise').status == 500
    wait_for(lambda: flow.log_has("main.py:%d: KeyError: 'tries'" % flow.line_of('REPEAT-RAISE')))
    assert simple_request(flow.p_repeat, '/').body == b'tries=3'
