"""Driving a pipeline in the test process: a sample stream, feeding events in, a readable summary of what came out."""
import asyncio

from pipyx import Data, MessageEnd, MessageStart, StreamEnd
from pipyx._native import EventCollector

KINDS = ('stream_start', 'message_start', 'data', 'message', 'message_end', 'stream_end')


def start(layout):
    c = EventCollector()
    return layout.start(c), c


def sample_stream():
    """A stream of two messages, the first with a body in two pieces."""
    return [MessageStart({'n': 1}), Data(b'ab'), Data(b'cd'), MessageEnd({'t': 1}),
            MessageStart({'n': 2}), MessageEnd(), StreamEnd()]


def feed(p, events):
    for e in events:
        p.input(e)


def summary(events, head=lambda h: h):
    """Events as comparable tuples, neighbouring Data merged; head(h) says how a MessageStart's head shows."""
    out = []
    for e in events:
        if isinstance(e, MessageStart):
            out.append(('start', head(e.head)))
        elif isinstance(e, Data):
            if out and out[-1][0] == 'data':
                out[-1] = ('data', out[-1][1] + e.to_bytes())
            else:
                out.append(('data', e.to_bytes()))
        elif isinstance(e, MessageEnd):
            out.append(('end', e.tail))
        elif isinstance(e, StreamEnd):
            out.append(('stream_end', e.error))
        else:
            out.append(('?', repr(e)))
    return out


async def until(predicate, timeout=2.0):
    """Lets the loop run until predicate() holds (or fails the test after timeout seconds)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError('timed out waiting')
        await asyncio.sleep(0.002)


def ended(c):
    return lambda: any(isinstance(e, StreamEnd) for e in c.events)


def split_at(data, cuts):
    """data cut at the offsets in cuts (those inside it), in order, with no empty piece."""
    cuts = sorted(set(x for x in cuts if 0 < x < len(data)))
    return [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)]) if b > a]
