"""branch: the first true condition chooses the sub-pipeline, once per stream."""
import pytest

from pipyx import Data, StreamEnd
from pipyx.config import ScriptError
from pipyx.testing import layout as layout_with, pipeline
from test.helpers.streams import feed, start, summary


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


def test_error_in_branch_condition_ends_the_stream():
    p, c = pipeline(lambda p: p.branch(lambda: 1 / 0, lambda q: q.replace_data('x')))
    feed(p, [Data(b'a'), StreamEnd()])              # must not raise
    assert summary(c.events) == [('stream_end', 'RuntimeError')]
