"""insert: events ahead of the stream's first one."""
import asyncio
import socket

from pipyx import Data, MessageEnd, MessageStart, StreamEnd
from pipyx.testing import pipeline
from test.filters.flow_support import flow  # noqa: F401  (the shared server fixture)
from test.helpers.streams import ended, feed, summary, until


def test_insert_puts_events_before_the_first_one_only():
    p, c = pipeline(lambda p: p.insert([MessageStart({'x': 1}), MessageEnd()]))
    feed(p, [Data(b'a'), Data(b'b'), StreamEnd()])
    assert summary(c.events) == [('start', {'x': 1}), ('end', None), ('data', b'ab'), ('stream_end', None)]


def test_insert_from_a_callable_and_an_awaitable():
    p, c = pipeline(lambda p: p.insert(lambda: 'pre:'))
    feed(p, [Data(b'a'), StreamEnd()])
    assert summary(c.events) == [('data', b'pre:a'), ('stream_end', None)]

    async def main():
        async def later():
            await asyncio.sleep(0.01)
            return b'late:'

        p, c = pipeline(lambda p: p.insert(later))
        feed(p, [Data(b'a'), StreamEnd()])
        await until(ended(c))
        return c.events

    assert summary(asyncio.run(main())) == [('data', b'late:a'), ('stream_end', None)]


def test_insert_of_something_else_ends_the_stream():
    p, c = pipeline(lambda p: p.insert(lambda: 42))
    feed(p, [Data(b'a'), StreamEnd()])
    assert summary(c.events) == [('stream_end', 'RuntimeError')]


def test_insert_on_a_connection(flow):
    with socket.create_connection(('127.0.0.1', flow.p_insert), timeout=5) as s:
        s.sendall(b'x')
        got = b''
        while len(got) < 4:
            got += s.recv(100)
        assert got == b'>> x'
