"""branch: the first true condition chooses the sub-pipeline, once per stream."""
import pytest

from pipyx import Data, MessageEnd, MessageStart, StreamEnd
from pipyx.config import ScriptError
from pipyx.testing import layout as layout_with, pipeline
from test.filters.flow_support import flow  # noqa: F401  (the shared server fixture)
from test.helpers import simple_request, wait_for
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


# ------------------------------------------------------------------------------- branch_message_start, branch_message

def test_branch_message_start_chooses_by_the_first_message_start():
    heads = []

    def cond(e):
        heads.append(e.head)
        return e.head['n'] == 1

    p, c = pipeline(lambda p: p.branch_message_start(cond, tagger(b'A:'), tagger(b'D:')))
    feed(p, [Data(b'pre'), MessageStart({'n': 1}), Data(b'x'), MessageEnd(), MessageStart({'n': 2}), Data(b'y'),
             MessageEnd(), StreamEnd()])
    assert heads == [{'n': 1}]                         # once per stream
    # what came before the message waited for the choice, then took the same way
    assert summary(c.events) == [('data', b'A:pre'), ('start', {'n': 1}), ('data', b'A:x'), ('end', None),
                                 ('start', {'n': 2}), ('data', b'A:y'), ('end', None), ('stream_end', None)]


def test_branch_message_chooses_once_the_whole_message_is_in():
    seen = []

    def cond(m):
        seen.append((m.head, m.body.to_bytes()))
        return b'go' in m.body.to_bytes()

    p, c = pipeline(lambda p: p.branch_message(cond, tagger(b'A:'), tagger(b'D:')))
    feed(p, [MessageStart({'n': 1}), Data(b'g'), Data(b'o')])
    assert c.events == [] and seen == []               # held until the message ends
    feed(p, [MessageEnd(), StreamEnd()])
    assert seen == [({'n': 1}, b'go')]
    assert summary(c.events) == [('start', {'n': 1}), ('data', b'A:gA:o'), ('end', None), ('stream_end', None)]


def test_branch_message_with_plain_values_and_no_match():
    p, c = pipeline(lambda p: p.branch_message(False, tagger(b'A:')))
    feed(p, [MessageStart(), Data(b'x'), MessageEnd(), StreamEnd()])
    assert summary(c.events) == [('start', None), ('data', b'x'), ('end', None), ('stream_end', None)]


def test_branch_message_stream_ending_before_a_message_goes_straight_on():
    p, c = pipeline(lambda p: p.branch_message_start(lambda e: True, tagger(b'A:')))
    feed(p, [Data(b'x'), StreamEnd()])
    assert summary(c.events) == [('data', b'x'), ('stream_end', None)]


def test_branch_message_past_size_limit_ends_the_stream():
    p, c = pipeline(lambda p: p.branch_message(lambda m: True, tagger(b'A:'), size_limit=3))
    feed(p, [MessageStart(), Data(b'ab'), Data(b'cd'), MessageEnd(), StreamEnd()])
    assert summary(c.events) == [('stream_end', 'BufferOverflow')]


def test_branch_message_start_holds_at_most_size_limit_before_the_choice():
    p, c = pipeline(lambda p: p.branch_message_start(lambda e: True, tagger(b'A:')))
    feed(p, [Data(b'x' * (16 << 20)), Data(b'y'), MessageStart(), StreamEnd()])
    assert summary(c.events) == [('stream_end', 'BufferOverflow')]


def test_error_in_branch_message_condition_ends_the_stream():
    p, c = pipeline(lambda p: p.branch_message(lambda m: 1 / 0, tagger(b'A:')))
    feed(p, [MessageStart(), MessageEnd(), StreamEnd()])
    assert summary(c.events) == [('stream_end', 'RuntimeError')]


def test_branch_message_start_per_request_over_http(flow):
    assert simple_request(flow.p_branch, '/abc').body == b'chose a'
    assert simple_request(flow.p_branch, '/xyz').body == b'chose default'


def test_branch_message_by_body_over_http(flow):
    assert simple_request(flow.p_branch_body, '/', 'POST', body=b'this is urgent').body == b'urgent'
    assert simple_request(flow.p_branch_body, '/', 'POST', body=b'hello').body == b'normal: 5 bytes'
    r = simple_request(flow.p_branch_body, '/', 'POST', body=b'x' * 100)      # over size_limit=64
    assert r.status == 502
    wait_for(lambda: flow.log_has('over size_limit (64 bytes)'))


def test_raising_branch_condition_fails_that_request_only(flow):
    assert simple_request(flow.p_branch, '/raise').status == 500
    wait_for(lambda: flow.log_has('main.py:%d: ValueError: no branch for this one' % flow.line_of('BRANCH-RAISE')))
    assert simple_request(flow.p_branch, '/a').body == b'chose a'
