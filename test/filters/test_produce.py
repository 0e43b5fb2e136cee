"""produce: a stream made by calling back until the callback returns None."""
import asyncio
import socket

from pipyx import Data, Message, MessageStart, StreamEnd
from pipyx.testing import pipeline
from test.helpers import free_port
from test.helpers.streams import ended, feed, summary, until


def run(build, events=(MessageStart(),)):
    async def main():
        p, c = pipeline(build)
        feed(p, list(events))
        await until(ended(c), timeout=5)
        return c.events
    return asyncio.run(main())


def counter(n):
    it = iter(range(n))
    return lambda: next((Message({'i': i}, b'%d' % i) for i in it), None)


def test_produce_until_none():
    events = run(lambda p: p.produce(counter(3)), [Data(b'dropped'), StreamEnd()])
    assert summary(events) == [('start', {'i': 0}), ('data', b'0'), ('end', None),
                               ('start', {'i': 1}), ('data', b'1'), ('end', None),
                               ('start', {'i': 2}), ('data', b'2'), ('end', None),
                               ('stream_end', None)]


def test_produce_stops_at_a_stream_end_it_returns():
    calls = []

    def once():
        calls.append(1)
        return [b'last words', StreamEnd('ConnectionReset')]

    assert summary(run(lambda p: p.produce(once))) == [('data', b'last words'), ('stream_end', 'ConnectionReset')]
    assert calls == [1]


def test_produce_awaits_an_awaitable():
    left = [3]

    async def later():
        await asyncio.sleep(0.01)
        left[0] -= 1
        return None if left[0] < 0 else Data(b'tick%d' % left[0])

    assert summary(run(lambda p: p.produce(later))) == [('data', b'tick2tick1tick0'), ('stream_end', None)]


def test_produce_error_ends_the_stream():
    def bad():
        raise KeyError('nope')
    assert summary(run(lambda p: p.produce(bad))) == [('stream_end', 'RuntimeError')]


def test_produce_many_pieces_to_a_slow_reader(run_pipyx):
    # 64 MiB produced for a client that reads slowly: the producer follows the socket instead of filling memory.
    port = free_port()
    run_pipyx('''
        from pipyx import pipy
        left = {}
        def piece():
            n = left.setdefault('n', 1024)
            left['n'] = n - 1
            return b'x' * 65536 if n > 0 else None
        pipy().listen(%d).produce(piece)
    ''' % port, port=port)
    with socket.create_connection(('127.0.0.1', port), timeout=10) as s:
        s.sendall(b'go')
        total = 0
        while True:
            b = s.recv(1 << 20)
            if not b:
                break
            total += len(b)
    assert total == 64 * 1024 * 1024
