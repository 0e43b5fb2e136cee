"""on_start: events a pipeline starts with, before any input; a server that speaks first."""
import asyncio
import socket

import pytest

from pipyx import Data, Message, StreamEnd
from pipyx.config import ScriptError
from pipyx.testing import pipeline
from test.filters.flow_support import flow  # noqa: F401  (the shared server fixture)
from test.helpers.streams import ended, feed, summary, until


def test_on_start_events_go_through_the_pipeline_first():
    p, c = pipeline(lambda p: p.on_start(lambda: [Message({'hello': 1}), b'raw']).replace_data(
        lambda d: d.to_bytes().upper()))
    feed(p, [Data(b'x'), StreamEnd()])
    assert summary(c.events) == [('start', {'hello': 1}), ('end', None), ('data', b'RAWX'), ('stream_end', None)]


def test_on_start_with_a_value_and_once_per_stream():
    p, c = pipeline(lambda p: p.on_start(b'>'))
    feed(p, [Data(b'a'), Data(b'b')])
    assert summary(c.events) == [('data', b'>ab')]


def test_on_start_callable_is_given_the_start_argument():
    seen = []
    p, c = pipeline(lambda p: p.fork(count=['one', 'two']).to(lambda q: q.on_start(lambda arg: seen.append(arg))))
    feed(p, [Data(b'a')])
    assert seen == ['one', 'two']
    p, c = pipeline(lambda p: p.on_start(lambda arg: seen.append(('main', arg))))
    feed(p, [Data(b'a')])
    assert seen[-1] == ('main', None)


def test_on_start_awaitable_holds_the_input():
    async def main():
        async def greet():
            await asyncio.sleep(0.01)
            return b'hi '

        p, c = pipeline(lambda p: p.on_start(greet))
        feed(p, [Data(b'a'), StreamEnd()])
        assert c.events == []
        await until(ended(c))
        return c.events

    assert summary(asyncio.run(main())) == [('data', b'hi a'), ('stream_end', None)]


def test_on_start_raising_ends_the_stream():
    p, c = pipeline(lambda p: p.on_start(lambda: 1 / 0))
    feed(p, [Data(b'a'), StreamEnd()])
    assert summary(c.events) == [('stream_end', 'RuntimeError')]


def test_on_start_comes_first():
    with pytest.raises(ScriptError, match='comes first'):
        pipeline(lambda p: p.dump().on_start(b'x'))


def test_on_start_greets_a_client_that_has_not_spoken(flow):
    with socket.create_connection(('127.0.0.1', flow.p_greet), timeout=5) as s:
        assert s.recv(100) == b'welcome\n'
        s.sendall(b'ping')
        assert s.recv(100) == b'ping'
