"""link: to a named pipeline, from one to another, or inline."""
import pytest

from pipyx import Data, StreamEnd
from pipyx.config import ScriptError
from pipyx.testing import layout as layout_with, pipeline
from test.filters.flow_support import flow  # noqa: F401  (the shared server fixture)
from test.helpers import simple_request, wait_for
from test.helpers.streams import feed, start, summary


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


# ------------------------------------------------------------------------------------------- a name chosen at run time

def test_link_to_a_name_chosen_when_the_stream_starts():
    layout = layout_with(lambda p: p.link(lambda: route[0])
                         .pipeline('a').replace_data('A').pipeline('b').replace_data('B'))
    route = ['a']
    p1, c1 = start(layout)
    feed(p1, [Data(b'x')])
    route[0] = 'b'
    feed(p1, [Data(b'y'), StreamEnd()])                # chosen once per stream
    p2, c2 = start(layout)
    feed(p2, [Data(b'z'), StreamEnd()])
    assert summary(c1.events) == [('data', b'AA'), ('stream_end', None)]
    assert summary(c2.events) == [('data', b'B'), ('stream_end', None)]


def test_link_by_name_waits_while_the_callable_gives_none():
    route = [None]
    p, c = pipeline(lambda p: p.link(lambda: route[0]).pipeline('a').replace_data(lambda d: d.to_bytes().upper()))
    feed(p, [Data(b'x'), Data(b'y')])
    assert c.events == []
    route[0] = 'a'
    feed(p, [Data(b'z'), StreamEnd()])
    assert [e.to_bytes() for e in c.events if isinstance(e, Data)] == [b'X', b'Y', b'Z']


def test_link_by_name_to_a_missing_pipeline_ends_the_stream():
    p, c = pipeline(lambda p: p.link(lambda: 'nowhere'))
    feed(p, [Data(b'x'), Data(b'y'), StreamEnd()])                 # must not raise
    assert summary(c.events) == [('stream_end', 'RuntimeError')]


def test_link_by_name_over_http(flow):
    assert simple_request(flow.p_link, '/hello').body == b'hello from link'
    assert simple_request(flow.p_link, '/bye').body == b'bye from link'


def test_link_by_name_to_a_missing_pipeline_is_reported_with_its_line(flow):
    assert simple_request(flow.p_link, '/nowhere').status == 500
    wait_for(lambda: flow.log_has("main.py:%d: PipelineNotFound: link(...): no pipeline named 'nowhere'"
                                  % flow.line_of('LINK-BY-NAME')))
    assert simple_request(flow.p_link, '/hello').status == 200


def test_link_async_hands_the_events_over_on_a_later_turn():
    import asyncio
    from test.helpers.streams import ended, until

    async def main():
        seen = []
        p, c = pipeline(lambda p: p.link_async('upper').pipeline('upper').handle_data(
            lambda d: seen.append(d.to_bytes())).replace_data(lambda d: d.to_bytes().upper()))
        feed(p, [Data(b'ab'), Data(b'cd'), StreamEnd()])
        assert seen == [] and c.events == []                # nothing yet: the caller's turn is not over
        await until(ended(c))
        return seen, c.events

    seen, events = asyncio.run(main())
    assert seen == [b'ab', b'cd']
    assert summary(events) == [('data', b'ABCD'), ('stream_end', None)]


def test_link_async_by_name_at_run_time_and_an_unknown_name():
    import asyncio
    from test.helpers.streams import ended, until

    async def main(name):
        p, c = pipeline(lambda p: p.link_async(lambda: name).pipeline('dot').replace_data('.'))
        feed(p, [Data(b'x'), StreamEnd()])
        await until(ended(c))
        return summary(c.events)

    assert asyncio.run(main('dot')) == [('data', b'.'), ('stream_end', None)]
    assert asyncio.run(main('nowhere')) == [('stream_end', 'RuntimeError')]


def test_link_async_bounds_what_waits_for_the_loop():
    import asyncio
    from test.helpers.streams import ended, until

    async def main():
        p, c = pipeline(lambda p: p.link_async(lambda q: q.dummy(), buffer_limit=10))
        feed(p, [Data(b'12345'), Data(b'67890'), Data(b'x')])
        await until(ended(c))
        return summary(c.events)

    assert asyncio.run(main()) == [('stream_end', 'BufferOverflow')]


def test_link_async_over_a_connection(run_pipyx):
    import socket
    from test.helpers import free_port
    port = free_port()
    run_pipyx('''
from pipyx import pipy
app = pipy()
app.listen('127.0.0.1:%d').link_async('upper')
app.pipeline('upper').replace_data(lambda d: d.to_bytes().upper())
''' % port, port=port)
    with socket.create_connection(('127.0.0.1', port), timeout=5) as s:
        for word in (b'one', b'two'):
            s.sendall(word)
            assert s.recv(100) == word.upper()
        s.shutdown(socket.SHUT_WR)
        assert s.recv(100) == b''
