"""The routing filters: link, branch, fork, wait, dump and print; and ctx."""
import asyncio

import pytest

from pipyx import Data, MessageEnd, MessageStart, StreamEnd, ctx
from pipyx.config import ScriptError
from pipyx.testing import layout as layout_with, pipeline
from test.helpers.streams import ended, feed, start, summary, until


# ------------------------------------------------------------------ link

def test_link_to_a_named_pipeline():
    p, c = pipeline(lambda p: p.link('upper').replace_data(lambda d: d.to_bytes() + b'.')
                    .pipeline('upper').replace_data(lambda d: d.to_bytes().upper()))
    feed(p, [Data(b'ab'), Data(b'cd'), StreamEnd()])
    assert [e.to_bytes() for e in c.events if isinstance(e, Data)] == [b'AB.', b'CD.']
    assert isinstance(c.events[-1], StreamEnd)


def test_link_from_a_named_pipeline_to_another():
    p, c = pipeline(lambda p: p.link('second').pipeline('second').link('first').replace_data(
        lambda d: d.to_bytes() + b'2').pipeline('first').replace_data('1'))
    feed(p, [Data(b'x'), StreamEnd()])
    assert summary(c.events) == [('data', b'12'), ('stream_end', None)]


def test_link_inline():
    p, c = pipeline(lambda p: p.link().to(lambda q: q.replace_data(lambda d: d.to_bytes()[::-1])))
    feed(p, [Data(b'abc'), StreamEnd()])
    assert summary(c.events) == [('data', b'cba'), ('stream_end', None)]
    p, c = pipeline(lambda p: p.link(lambda q: q.replace_data('z')).replace_data(lambda d: d.to_bytes() * 2))
    feed(p, [Data(b'abc'), StreamEnd()])
    assert summary(c.events) == [('data', b'zz'), ('stream_end', None)]


def test_link_to_an_undefined_pipeline_is_a_script_error():
    with pytest.raises(ScriptError, match='nowhere'):
        pipeline(lambda p: p.link('nowhere'))


def test_link_starts_one_sub_pipeline_per_stream():
    starts = []
    layout = layout_with(lambda p: p.link('sub').pipeline('sub').handle_stream_start(starts.append))
    p1, c1 = start(layout)
    p2, c2 = start(layout)
    feed(p1, [Data(b'a'), Data(b'b')])
    feed(p2, [Data(b'c')])
    assert [d.to_bytes() for d in starts] == [b'a', b'c']


def test_pipeline_defined_twice_is_a_script_error():
    with pytest.raises(ScriptError):
        pipeline(lambda p: p.pipeline('x').dump().pipeline('x').dump())


# ------------------------------------------------------------------ branch

def tagger(tag):
    return lambda q: q.replace_data(lambda d: tag + d.to_bytes())


@pytest.mark.parametrize('flags, expected', [
    ((True, True), b'A:'),
    ((False, True), b'B:'),
    ((False, False), b'D:'),
])
def test_branch_first_true_condition_wins(flags, expected):
    p, c = pipeline(lambda p: p.branch(lambda: flags[0], tagger(b'A:'), lambda: flags[1], tagger(b'B:'),
                                       tagger(b'D:')))
    feed(p, [Data(b'x'), StreamEnd()])
    assert summary(c.events) == [('data', expected + b'x'), ('stream_end', None)]


def test_branch_plain_values_as_conditions():
    p, c = pipeline(lambda p: p.branch(0, tagger(b'zero:'), '', tagger(b'empty:'), 'yes', tagger(b'str:')))
    feed(p, [Data(b'x')])
    assert summary(c.events) == [('data', b'str:x')]


def test_branch_no_match_and_no_default_passes_through():
    p, c = pipeline(lambda p: p.branch(lambda: False, tagger(b'A:')).replace_data(lambda d: d.to_bytes() + b'.'))
    feed(p, [Data(b'x'), StreamEnd()])
    assert summary(c.events) == [('data', b'x.'), ('stream_end', None)]


def test_branch_none_pipeline_passes_through():
    p, c = pipeline(lambda p: p.branch(lambda: True, None, tagger(b'D:')).replace_data(lambda d: d.to_bytes() + b'.'))
    feed(p, [Data(b'x'), StreamEnd()])
    assert summary(c.events) == [('data', b'x.'), ('stream_end', None)]


def test_branch_output_continues_after_branch():
    p, c = pipeline(lambda p: p.branch(lambda: True, tagger(b'A:')).replace_data(lambda d: d.to_bytes() + b'.'))
    feed(p, [Data(b'x'), Data(b'y')])
    assert [e.to_bytes() for e in c.events] == [b'A:x.', b'A:y.']


def test_branch_decides_once_per_stream():
    calls = []
    flag = [True]

    def cond():
        calls.append(1)
        return flag[0]

    layout = layout_with(lambda p: p.branch(cond, tagger(b'A:'), tagger(b'B:')))
    p, c = start(layout)
    p.input(Data(b'1'))
    flag[0] = False
    p.input(Data(b'2'))
    p.input(StreamEnd())
    assert len(calls) == 1
    assert [e.to_bytes() for e in c.events if isinstance(e, Data)] == [b'A:1', b'A:2']
    p2, c2 = start(layout)            # another stream decides anew
    p2.input(Data(b'3'))
    assert [e.to_bytes() for e in c2.events] == [b'B:3']


def test_branch_to_named_pipelines():
    p, c = pipeline(lambda p: p.branch(lambda: False, 'a', lambda: True, 'b', 'a')
                    .pipeline('a').replace_data('A').pipeline('b').replace_data('B'))
    feed(p, [Data(b'x'), StreamEnd()])
    assert summary(c.events) == [('data', b'B'), ('stream_end', None)]


def test_branch_needs_arguments():
    with pytest.raises(ScriptError):
        pipeline(lambda p: p.branch())


# ------------------------------------------------------------------ fork

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


# ------------------------------------------------------------------ wait

def test_wait_releases_held_events_in_order_when_condition_holds():
    async def main():
        state = {'open': False}
        checks = []

        def cond():
            checks.append(1)
            return state['open']

        p, c = pipeline(lambda p: p.wait(cond))
        feed(p, [MessageStart(), Data(b'1'), Data(b'2')])
        await asyncio.sleep(0.03)
        assert c.events == []
        assert len(checks) >= 3          # checked on each event and then by a timer
        state['open'] = True
        await until(lambda: len(c.events) == 3)
        feed(p, [Data(b'3'), MessageEnd(), StreamEnd()])   # once open, events pass straight on
        return c.events

    events = asyncio.run(main())
    assert summary(events) == [('start', None), ('data', b'123'), ('end', None), ('stream_end', None)]
    assert [e.to_bytes() for e in events if isinstance(e, Data)] == [b'1', b'2', b'3']


def test_wait_already_true_passes_at_once():
    p, c = pipeline(lambda p: p.wait(lambda: True))
    feed(p, [Data(b'a'), StreamEnd()])
    assert summary(c.events) == [('data', b'a'), ('stream_end', None)]


def test_wait_opened_by_a_later_event():
    # The condition is checked again on each new event.
    seen = []
    p, c = pipeline(lambda p: p.handle_data(lambda d: seen.append(d.to_bytes())).wait(lambda: b'go' in seen))

    async def main():
        feed(p, [Data(b'a'), Data(b'go'), Data(b'b')])
        return list(c.events)

    assert [e.to_bytes() for e in asyncio.run(main())] == [b'a', b'go', b'b']


def test_wait_timeout_ends_the_stream():
    async def main():
        p, c = pipeline(lambda p: p.wait(lambda: False, timeout=0.05))
        feed(p, [Data(b'a'), Data(b'b')])
        await asyncio.sleep(0.02)
        assert c.events == []
        await until(ended(c), timeout=1)
        # the stream is over: later input goes nowhere
        feed(p, [Data(b'late'), StreamEnd()])
        return c.events

    assert summary(asyncio.run(main())) == [('stream_end', 'ReadTimeout')]


def test_wait_timeout_not_reached_when_condition_turns_true():
    async def main():
        state = [False]
        p, c = pipeline(lambda p: p.wait(lambda: state[0], timeout=0.2))
        feed(p, [Data(b'a')])
        await asyncio.sleep(0.02)
        state[0] = True
        await until(lambda: c.events)
        await asyncio.sleep(0.25)
        feed(p, [StreamEnd()])
        return c.events

    assert summary(asyncio.run(main())) == [('data', b'a'), ('stream_end', None)]


# ------------------------------------------------------------------ dump and print

def test_dump_prints_each_event_and_passes_it_on(capsys):
    p, c = pipeline(lambda p: p.dump('tag1').dump())
    events = [MessageStart({'a': 1}), Data(b'xy'), MessageEnd(), StreamEnd('ReadError')]
    feed(p, events)
    assert all(a is b for a, b in zip(c.events, events)) and len(c.events) == 4
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["[tag1] MessageStart({'a': 1})", "MessageStart({'a': 1})",
                     "[tag1] Data(b'xy')", "Data(b'xy')",
                     '[tag1] MessageEnd(None)', 'MessageEnd(None)',
                     "[tag1] StreamEnd('ReadError')", "StreamEnd('ReadError')"]


def test_dump_tag_callable(capsys):
    n = iter(range(100))
    p, c = pipeline(lambda p: p.dump(lambda: 'n%d' % next(n)))
    feed(p, [Data(b'a'), StreamEnd()])
    assert capsys.readouterr().out.splitlines() == ["[n0] Data(b'a')", '[n1] StreamEnd()']


def test_print_writes_data_as_text(capsys):
    p, c = pipeline(lambda p: p.print())
    events = [MessageStart(), Data(b'hello '), Data('w\u00f6rld'.encode()), Data(b'\xff!'), MessageEnd(), StreamEnd()]
    feed(p, events)
    assert capsys.readouterr().out == 'hello w\u00f6rld\ufffd!'
    assert all(a is b for a, b in zip(c.events, events)) and len(c.events) == len(events)


# ------------------------------------------------------------------ ctx

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
    import socket
    from test.helpers import free_port
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
