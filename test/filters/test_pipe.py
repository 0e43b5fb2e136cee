"""pipe and pipe_next: a pipeline (or a chain of them) chosen when the stream starts."""
import pytest

from pipyx import Data, MessageEnd, MessageStart, StreamEnd
from pipyx.config import ScriptError
from pipyx.testing import pipeline
from test.filters.flow_support import flow  # noqa: F401  (the shared server fixture)
from test.helpers import simple_request
from test.helpers.streams import feed, summary


def tag(text):
    return lambda q: q.replace_data(lambda d: d.to_bytes() + text).pipe_next()


def test_pipe_to_a_static_name():
    p, c = pipeline(lambda p: p.pipe('up').pipeline('up').replace_data(lambda d: d.to_bytes().upper()))
    feed(p, [Data(b'ab'), StreamEnd()])
    assert summary(c.events) == [('data', b'AB'), ('stream_end', None)]


def test_pipe_chooses_from_the_map_by_the_first_event():
    p, c = pipeline(lambda p: p.pipe(lambda e: e.head['to'], {'x': tag(b'[x]'), 'y': tag(b'[y]')}))
    feed(p, [MessageStart({'to': 'y'}), Data(b'1'), MessageEnd(), StreamEnd()])
    assert summary(c.events) == [('start', {'to': 'y'}), ('data', b'1[y]'), ('end', None), ('stream_end', None)]


def test_pipe_falls_back_to_the_scripts_named_pipelines():
    p, c = pipeline(lambda p: p.pipe(lambda: 'named', {'x': tag(b'[x]')}).pipeline('named').replace_data('N'))
    feed(p, [Data(b'1'), StreamEnd()])
    assert summary(c.events) == [('data', b'N'), ('stream_end', None)]


def test_pipe_a_chain_handed_on_with_pipe_next():
    p, c = pipeline(lambda p: p.pipe(['a', 'b', 'c'], {'a': tag(b'a'), 'b': tag(b'b'), 'c': tag(b'c')})
                    .replace_data(lambda d: d.to_bytes() + b'.'))
    feed(p, [Data(b'>'), StreamEnd()])
    assert summary(c.events) == [('data', b'>abc.'), ('stream_end', None)]


def test_pipe_a_chain_chosen_at_run_time():
    p, c = pipeline(lambda p: p.pipe(lambda e: ['b', 'a'], {'a': tag(b'a'), 'b': tag(b'b')}))
    feed(p, [Data(b'>'), StreamEnd()])
    assert summary(c.events) == [('data', b'>ba'), ('stream_end', None)]


def test_pipe_next_outside_a_chain_passes_on():
    p, c = pipeline(lambda p: p.pipe_next().replace_data('x'))
    feed(p, [Data(b'>'), StreamEnd()])
    assert summary(c.events) == [('data', b'x'), ('stream_end', None)]


def test_pipe_waits_while_the_callable_gives_none():
    ready = []
    p, c = pipeline(lambda p: p.pipe(lambda e: 'a' if ready else None, {'a': tag(b'!')}))
    feed(p, [Data(b'1')])
    assert c.events == []
    ready.append(1)
    feed(p, [Data(b'2'), StreamEnd()])
    assert [e.to_bytes() for e in c.events if isinstance(e, Data)] == [b'1!', b'2!']


def test_pipe_start_argument_reaches_on_start():
    p, c = pipeline(lambda p: p.pipe('greet', args=lambda e: 'hi ' + e.to_bytes().decode())
                    .pipeline('greet').on_start(lambda arg: Data(arg.encode() + b'|')))
    feed(p, [Data(b'bob'), StreamEnd()])
    assert summary(c.events) == [('data', b'hi bob|bob'), ('stream_end', None)]


def test_pipe_to_a_missing_name_ends_the_stream():
    p, c = pipeline(lambda p: p.pipe(lambda e: 'ghost', {'a': tag(b'!')}))
    feed(p, [Data(b'1'), Data(b'2'), StreamEnd()])
    assert summary(c.events) == [('stream_end', 'RuntimeError')]


def test_pipe_callable_raising_ends_the_stream():
    p, c = pipeline(lambda p: p.pipe(lambda e: 1 / 0))
    feed(p, [Data(b'1'), StreamEnd()])
    assert summary(c.events) == [('stream_end', 'RuntimeError')]


def test_pipe_bad_arguments_are_script_errors():
    with pytest.raises(ScriptError):
        pipeline(lambda p: p.pipe(42))
    with pytest.raises(ScriptError):
        pipeline(lambda p: p.pipe('a', ['not', 'a', 'dict']))
    with pytest.raises(ScriptError, match='nowhere'):
        pipeline(lambda p: p.pipe('nowhere'))


def test_pipe_over_http(flow):
    assert simple_request(flow.p_pipe, '/two').body == b'[two]'
    assert simple_request(flow.p_pipe, '/three,one,two').body == b'[three][one][two]'
    assert simple_request(flow.p_pipe, '/four').status == 500
