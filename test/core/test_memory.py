"""What a stream leaves behind once it has ended and its pipeline is shut down: nothing that waits for the garbage
collector. A pipeline, its filters and the connection or slot it writes to point at each other while the stream
runs; shutting it down must let reference counting free them at once, or a worker, whose collector runs seldom,
holds every finished connection until a full collection (the floods of test/io/test_memory.py).
"""
import asyncio
import gc

import pytest

from pipyx import Data, Message, StreamEnd, _native
from pipyx._native import EventCollector
from pipyx.testing import layout

NATIVE_TYPES = tuple(t for t in vars(_native).values() if isinstance(t, type))

REQUEST = b'GET / HTTP/1.1\r\nHost: x\r\n\r\n'

LAYOUTS = {
    'serve_http': lambda p: p.serve_http(Message('hi')),
    'serve_http handler': lambda p: p.serve_http(lambda req: Message(req.head.path)),
    'demux_http': lambda p: p.demux_http().to(lambda p: p.replace_message(Message('hi'))),
    'decode_http_request': lambda p: p.decode_http_request().encode_http_request(),
    'handle, branch, link': lambda p: p.handle_data(lambda d: None).branch(
        lambda: True, (lambda p: p.link().to(lambda p: p.replace_data(None)))),
}

# The flow filters, whose sub-pipelines output back into them; some of them go on from the event loop.
FLOW_LAYOUTS = {
    'fork, fork_join, fork_race': lambda p: p.fork(['a', 'b']).to(lambda p: p.dump()).fork_join(count=2).to(
        lambda p: p.replace_data(None)).fork_race(count=2).to(lambda p: p.replace_data(lambda d: d)),
    'loop, swap': lambda p: p.loop().to(lambda p: p.replace_data(None)).swap('hub'),
    'branch_message, pipe, on_start, insert': lambda p: p.branch_message(lambda m: True, lambda p: p.pipe(
        lambda e: 'x', {'x': lambda p: p.on_start(b'').insert(b'').dummy()})),
    'repeat, replay': lambda p: p.repeat(lambda end: False).to(lambda p: p.replace_data(None)).replay().to(
        lambda p: p.replace_data(None)),
}


def native_garbage(run):
    """The objects of pipyx's native classes that run() leaves unreachable but not freed, by class name."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        run()
        gc.collect()
        found = sorted({type(o).__name__ for o in gc.garbage if isinstance(o, NATIVE_TYPES)})
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    return found


@pytest.mark.parametrize('name', list(LAYOUTS))
def test_a_finished_stream_leaves_no_cycles(name):
    built = layout(LAYOUTS[name])

    def stream():
        # What the pipeline writes to holds the pipeline, as a connection holds the stream it runs.
        holder = []
        collector = EventCollector(lambda evt: holder)
        pipeline = built.start(collector)
        holder.append(pipeline)
        pipeline.input(Data(REQUEST))
        pipeline.input(StreamEnd())
        pipeline.close()

    assert native_garbage(stream) == []


@pytest.mark.parametrize('name', list(FLOW_LAYOUTS))
def test_a_finished_stream_through_the_flow_filters_leaves_no_cycles(name):
    built = layout(FLOW_LAYOUTS[name])

    async def stream():
        holder = []
        collector = EventCollector(lambda evt: holder)
        pipeline = built.start(collector)
        holder.append(pipeline)
        pipeline.input(Data(REQUEST))
        pipeline.input(StreamEnd())
        await asyncio.sleep(0.01)                    # what goes on from the event loop
        pipeline.close()
        await asyncio.sleep(0)

    assert native_garbage(lambda: asyncio.run(stream())) == []



def test_reclaim_runs_its_steps_on_the_loop_and_reports_done():
    """The worker's reclaim (pipyx/memory.py) repacks the loop's free lists across a few turns of the loop, then
    collects and trims: done() comes once all of it has run, and none of its callbacks failed."""
    import asyncio

    import uvloop

    from pipyx.memory import reclaim

    async def run():
        loop = asyncio.get_running_loop()
        errors = []
        loop.set_exception_handler(lambda loop, context: errors.append(context))
        done = loop.create_future()
        reclaim(loop, lambda: done.set_result(True))
        await asyncio.wait_for(done, 5)
        await asyncio.sleep(0.1)
        return errors

    assert uvloop.run(run()) == []
    assert _native.trim_heap() in (-1, 0, 1)
