"""loop: the sub-pipeline's output goes on and back into its input."""
import asyncio
import socket

from pipyx import Data, StreamEnd
from pipyx.testing import pipeline
from test.filters.flow_support import flow  # noqa: F401  (the shared server fixture)
from test.helpers.streams import feed, until


def countdown(d):
    n = int(d.to_bytes())
    return str(n - 1).encode() if n > 0 else None


def test_loop_feeds_its_output_back_until_it_stops():
    async def main():
        p, c = pipeline(lambda p: p.loop().to(lambda q: q.replace_data(countdown)))
        feed(p, [Data(b'3')])
        await until(lambda: len(c.events) == 3)
        await asyncio.sleep(0.02)
        return [e.to_bytes() for e in c.events]

    assert asyncio.run(main()) == [b'2', b'1', b'0']


def test_loop_output_made_outside_an_input_goes_out_at_once():
    async def main():
        async def later(d):
            await asyncio.sleep(0.01)
            return countdown(d)

        p, c = pipeline(lambda p: p.loop().to(lambda q: q.replace_data(later)))
        feed(p, [Data(b'2')])
        await until(lambda: len(c.events) == 2)
        return [e.to_bytes() for e in c.events]

    assert asyncio.run(main()) == [b'1', b'0']


def test_loop_past_buffer_limit_ends_the_stream():
    async def main():
        p, c = pipeline(lambda p: p.loop(buffer_limit=4).to(lambda q: q.replace_data(b'0123456789')))
        feed(p, [Data(b'x')])
        await until(lambda: c.events)
        return c.events

    events = asyncio.run(main())
    assert isinstance(events[-1], StreamEnd) and events[-1].error == 'BufferOverflow'


def test_loop_over_a_connection(flow):
    with socket.create_connection(('127.0.0.1', flow.p_loop), timeout=5) as s:
        s.sendall(b'5')
        got = b''
        while len(got) < 5:
            got += s.recv(100)
    assert got == b'43210'
