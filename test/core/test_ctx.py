"""ctx: the context variables of a stream, shared by the pipelines it goes through."""
import asyncio
import socket

import pytest

from pipyx import Data, StreamEnd, ctx
from pipyx.testing import layout as layout_with
from test.helpers import free_port
from test.helpers.streams import feed, start, summary, until


def test_ctx_variables_are_per_stream():
    def count(d):
        ctx.n += 1
        ctx.seen.append(d.to_bytes())

    layout = layout_with(lambda p: p.handle_data(count).replace_stream_end(
        lambda e: [Data(b'%d %s' % (ctx.n, b','.join(ctx.seen))), e]), n=0, seen=[])
    p1, c1 = start(layout)
    p2, c2 = start(layout)
    feed(p1, [Data(b'a'), Data(b'b')])
    feed(p2, [Data(b'c')])
    feed(p1, [StreamEnd()])
    feed(p2, [StreamEnd()])
    assert c1.events[-2].to_bytes() == b'2 a,b'
    assert c2.events[-2].to_bytes() == b'1 c'


def test_ctx_shared_with_linked_and_branched_pipelines():
    layout = layout_with(lambda p: p.handle_stream_start(lambda e: setattr(ctx, 'who', 'main'))
                         .branch(lambda: ctx.who == 'main', 'sub')
                         .pipeline('sub').replace_data(lambda d: ctx.who.encode() + b':' + d.to_bytes()),
                         who='nobody')
    p, c = start(layout)
    feed(p, [Data(b'x')])
    assert [e.to_bytes() for e in c.events] == [b'main:x']


def test_ctx_undeclared_name_fails_the_stream():
    layout = layout_with(lambda p: p.handle_data(lambda d: ctx.no_such_name), declared=1)
    p, c = start(layout)
    feed(p, [Data(b'x'), StreamEnd()])
    assert summary(c.events) == [('stream_end', 'RuntimeError')]


def test_ctx_outside_a_stream():
    with pytest.raises((RuntimeError, AttributeError)):
        ctx.anything


def test_ctx_after_await_is_still_the_streams_own():
    # Two streams whose async callbacks interleave: after an await, ctx must still be the stream's own.
    async def tag(d):
        ctx.mine = d.to_bytes()
        await asyncio.sleep(0.01 if d.to_bytes() == b'A' else 0.002)
        return b'%s sees %s' % (d.to_bytes(), ctx.mine)

    layout = layout_with(lambda p: p.replace_data(tag), mine=b'')

    async def main():
        p1, c1 = start(layout)
        p2, c2 = start(layout)
        p1.input(Data(b'A'))
        p2.input(Data(b'B'))
        await until(lambda: c1.events and c2.events)
        return c1.events[0].to_bytes(), c2.events[0].to_bytes()

    assert asyncio.run(main()) == (b'A sees A', b'B sees B')


def test_ctx_in_a_real_script(run_pipyx, tmp_path):
    # The same through a script run by pipyx: pipy(**variables) declares them; each connection has its own.
    port = free_port()
    run_pipyx('''
        import asyncio
        from pipyx import pipy, ctx, Data

        def count(d):
            ctx.n += len(d)

        async def reply(e):
            await asyncio.sleep(0.01)
            return [Data(b'%%d' %% ctx.n), e]

        pipy(n=0).listen(%d).handle_data(count).replace_data(None).replace_stream_end(reply)
    ''' % port, port=port)

    def talk(payload):
        with socket.create_connection(('127.0.0.1', port), timeout=5) as s:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            out = b''
            while True:
                b = s.recv(1024)
                if not b:
                    return out
                out += b

    assert talk(b'abc') == b'3'
    assert talk(b'abcdefg') == b'7'
