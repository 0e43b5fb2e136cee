"""demux: a sub-pipeline per message, outputs in message order; output_count (one-way, several, exclusive); the
limit on messages in flight; sub-pipelines that end short or fail; and, end to end, HTTP/1 requests through
decode_http_request -> demux -> encode_http_response with real clients.
"""
import asyncio
import subprocess

import pytest
from hypothesis import given, settings, strategies as st

from pipyx import Data, Message, MessageEnd, MessageStart, StreamEnd
from pipyx.testing import pipeline
from test.helpers import RawClient, free_port, lacks, req
from test.helpers.streams import feed, summary, until


def msg(head, body=b''):
    return [MessageStart(head), Data(body), MessageEnd()] if body else [MessageStart(head), MessageEnd()]


def answered_after(delays):
    """A sub-pipeline answering message {'n': i} with 'answer i' after delays[i] seconds."""
    async def answer(m):
        await asyncio.sleep(delays[m.head['n']])
        return Message({'re': m.head['n']}, b'answer %d' % m.head['n'])
    return lambda p: p.replace_message(answer)


def heads(events):
    return [e.head for e in events if isinstance(e, MessageStart)]


def test_outputs_leave_in_message_order_however_the_answers_come():
    async def main():
        p, c = pipeline(lambda p: p.demux().to(answered_after({0: 0.06, 1: 0.0, 2: 0.03})))
        for i in range(3):
            feed(p, msg({'n': i}, b'q'))
        feed(p, [StreamEnd()])
        await until(lambda: any(isinstance(e, StreamEnd) for e in c.events))
        return c.events
    events = asyncio.run(main())
    assert summary(events) == [('start', {'re': 0}), ('data', b'answer 0'), ('end', None),
                               ('start', {'re': 1}), ('data', b'answer 1'), ('end', None),
                               ('start', {'re': 2}), ('data', b'answer 2'), ('end', None),
                               ('stream_end', None)]


def test_each_sub_pipeline_sees_one_message_then_its_end():
    seen = []
    p, c = pipeline(lambda p: p.demux().to(lambda s: s.handle_message_start(lambda e: seen.append(('start', e.head)))
                                          .handle_stream_end(lambda e: seen.append(('end', e.error)))
                                          .replace_message(lambda m: Message({'re': m.head}))))
    feed(p, msg(1) + msg(2) + [StreamEnd()])
    assert seen == [('start', 1), ('end', None), ('start', 2), ('end', None)]
    assert heads(c.events) == [{'re': 1}, {'re': 2}]
    assert isinstance(c.events[-1], StreamEnd)


def test_one_way_messages_do_not_hold_up_the_ones_after_them():
    # output_count 0: a message nobody answers (an MQTT QoS 0 PUBLISH) must not stall the stream.
    async def main():
        p, c = pipeline(lambda p: p.demux(lambda evt: 0 if evt.head['oneway'] else 1).to(
            lambda s: s.replace_message(lambda m: None if m.head['oneway'] else Message({'re': m.head['n']}))))
        feed(p, msg({'n': 0, 'oneway': True}) + msg({'n': 1, 'oneway': False}) + msg({'n': 2, 'oneway': True}) +
             msg({'n': 3, 'oneway': False}))
        await asyncio.sleep(0)
        return c.events
    assert heads(asyncio.run(main())) == [{'re': 1}, {'re': 3}]


def test_a_message_answered_by_several():
    def twice(m):
        return [Message({'re': m.head, 'part': 1}), Message({'re': m.head, 'part': 2})]
    p, c = pipeline(lambda p: p.demux(2).to(lambda s: s.replace_message(twice)))
    feed(p, msg('a') + msg('b') + [StreamEnd()])
    assert heads(c.events) == [{'re': 'a', 'part': 1}, {'re': 'a', 'part': 2},
                               {'re': 'b', 'part': 1}, {'re': 'b', 'part': 2}]


def test_max_queue_holds_further_messages_until_the_oldest_are_answered():
    async def main():
        started = []
        gates = {}

        async def answer(m):
            started.append(m.head)
            gates[m.head] = asyncio.get_running_loop().create_future()
            await gates[m.head]
            return Message({'re': m.head})
        p, c = pipeline(lambda p: p.demux(max_queue=2).to(lambda s: s.replace_message(answer)))
        for i in range(5):
            feed(p, msg(i, b'body %d' % i))
        feed(p, [StreamEnd()])
        await until(lambda: len(started) == 2)
        await asyncio.sleep(0.02)
        assert started == [0, 1]                 # the other three wait, their sub-pipelines not even started
        gates[1].set_result(None)
        await asyncio.sleep(0.02)
        assert started == [0, 1] and c.events == []   # 1 is answered but 0 is not: still two in flight
        gates[0].set_result(None)
        await until(lambda: len(started) == 4)
        for i in (2, 3):
            gates[i].set_result(None)
        await until(lambda: len(started) == 5)
        gates[4].set_result(None)
        await until(lambda: any(isinstance(e, StreamEnd) for e in c.events))
        return c.events
    events = asyncio.run(main())
    assert heads(events) == [{'re': i} for i in range(5)]


def test_negative_output_count_takes_no_message_until_answered():
    async def main():
        started = []

        async def answer(m):
            started.append(m.head)
            await asyncio.sleep(0.03 if m.head == 'upgrade' else 0)
            return Message({'re': m.head})
        p, c = pipeline(lambda p: p.demux(lambda e: -1 if e.head == 'upgrade' else 1).to(
            lambda s: s.replace_message(answer)))
        feed(p, msg('upgrade') + msg('next'))
        await asyncio.sleep(0.01)
        assert started == ['upgrade']
        await until(lambda: len(heads(c.events)) == 2)
        return c.events
    assert heads(asyncio.run(main())) == [{'re': 'upgrade'}, {'re': 'next'}]


def test_a_sub_pipeline_ending_short_ends_the_stream_after_the_answers_before_it():
    p, c = pipeline(lambda p: p.demux().to(
        lambda s: s.replace_message(lambda m: StreamEnd('ConnectionRefused') if m.head == 2 else Message({'re': m.head}))))
    feed(p, msg(1) + msg(2) + msg(3))
    assert summary(c.events) == [('start', {'re': 1}), ('end', None), ('stream_end', 'ConnectionRefused')]
    feed(p, msg(4) + [StreamEnd()])              # the stream is over: nothing more comes out
    assert len(c.events) == 3


def test_an_error_in_one_message_ends_the_stream_with_runtime_error_only_there():
    def answer(m):
        if m.head == 'bad':
            raise ValueError('boom')
        return Message({'re': m.head})
    p, c = pipeline(lambda p: p.demux().to(lambda s: s.replace_message(answer)))
    feed(p, msg('ok') + msg('bad') + msg('after'))
    assert summary(c.events) == [('start', {'re': 'ok'}), ('end', None), ('stream_end', 'RuntimeError')]


def test_the_input_end_waits_for_the_last_output():
    async def main():
        p, c = pipeline(lambda p: p.demux().to(answered_after({0: 0.03})))
        feed(p, msg({'n': 0}) + [StreamEnd()])
        await asyncio.sleep(0)
        assert c.events == []
        await until(lambda: len(c.events) == 4)
        return c.events
    assert summary(asyncio.run(main())) == [('start', {'re': 0}), ('data', b'answer 0'), ('end', None),
                                            ('stream_end', None)]


def test_an_input_error_ends_the_stream_at_once_and_ends_the_sub_pipelines():
    ends = []

    async def main():
        p2, c2 = pipeline(lambda p: p.demux().to(
            lambda s: s.handle_stream_end(lambda e: ends.append(e.error)).replace_message(
                lambda m: asyncio.sleep(1.0))))
        feed(p2, msg(0) + [StreamEnd('ConnectionReset')])
        return c2.events
    events = asyncio.run(main())
    assert summary(events) == [('stream_end', 'ConnectionReset')]
    assert ends == ['ConnectionReset']


def test_options_are_checked_where_the_script_gives_them():
    from pipyx.errors import ScriptError
    with pytest.raises(ScriptError, match='output_count'):
        pipeline(lambda p: p.demux('one').to(lambda s: s.dump()))
    with pytest.raises(ScriptError, match='max_queue'):
        pipeline(lambda p: p.demux(max_queue=-1).to(lambda s: s.dump()))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 6)), min_size=1, max_size=12), st.integers(0, 4))
def test_any_answer_order_and_counts_give_outputs_in_message_order(plan, max_queue):
    # plan[i] = (how many outputs message i has, how many loop turns its answers take)
    async def main():
        async def answer(m):
            n, turns = plan[m.head]
            for _ in range(turns):
                await asyncio.sleep(0)
            return [Message({'re': m.head, 'k': k}) for k in range(n)] or None
        p, c = pipeline(lambda p: p.demux(lambda e: plan[e.head][0], max_queue=max_queue).to(
            lambda s: s.replace_message(answer)))
        for i in range(len(plan)):
            feed(p, msg(i))
        feed(p, [StreamEnd()])
        await until(lambda: any(isinstance(e, StreamEnd) for e in c.events))
        return c.events
    events = asyncio.run(main())
    assert heads(events) == [{'re': i, 'k': k} for i, (n, _) in enumerate(plan) for k in range(n)]
    assert isinstance(events[-1], StreamEnd) and events[-1].error is None


# --------------------------------------------------------------------------- end to end: HTTP/1 with real clients

HTTP_SCRIPT = """
import asyncio
from pipyx import Message, pipy

state = {{'in_flight': 0, 'most': 0}}


async def answer(m):
    # /wait/<ms>: answered after that many milliseconds, with how many requests were in flight at most so far
    state['in_flight'] += 1
    state['most'] = max(state['most'], state['in_flight'])
    parts = m.head.path.split('/')
    if len(parts) > 2 and parts[1] == 'wait':
        await asyncio.sleep(int(parts[2]) / 1000)
    state['in_flight'] -= 1
    return Message({{'status': 200, 'headers': {{'x-most': str(state['most'])}}}}, m.head.path)


(pipy().listen('127.0.0.1:{port}')
    .decode_http_request()
    .demux(max_queue=4).to(lambda p: p.replace_message(answer))
    .encode_http_response())
"""


@pytest.fixture
def http_demux(run_pipyx):
    port = free_port()
    run_pipyx(HTTP_SCRIPT.format(port=port), port=port)
    return port


def test_pipelined_requests_are_answered_in_order_whatever_their_pace(http_demux):
    paths = ['/wait/%d' % ms for ms in (80, 0, 40, 10, 0)]
    with RawClient(http_demux) as c:
        c.send(b''.join(req(p) for p in paths))
        assert [c.read_response().body.decode() for _ in paths] == paths


def test_a_client_pipelining_more_than_max_queue_is_read_as_answers_go(http_demux):
    paths = ['/wait/5/%d' % i for i in range(60)]
    with RawClient(http_demux) as c:
        c.send(b''.join(req(p) for p in paths))
        answers = [c.read_response() for _ in paths]
    assert [a.body.decode() for a in answers] == paths
    assert max(int(a.header('x-most')) for a in answers) == 4


@pytest.mark.skipif(lacks('curl'), reason='curl is not installed')
def test_curl_gets_each_answer_on_one_connection(http_demux):
    urls = ['http://127.0.0.1:%d/wait/%d' % (http_demux, ms) for ms in (30, 0, 10)]
    out = subprocess.run(['curl', '-s', '--max-time', '5'] + [a for u in urls for a in (u, '-w', '\\n')],
                         capture_output=True, timeout=10)
    assert out.stdout.decode().split() == ['/wait/30', '/wait/0', '/wait/10']


def test_garbage_ends_that_connection_and_the_server_goes_on(http_demux):
    with RawClient(http_demux) as bad:
        bad.send(b'\x00\x01 not http\r\n\r\n')
        assert bad.is_closed()
    with RawClient(http_demux) as c:
        c.send(req('/wait/0'))
        assert c.read_response().body == b'/wait/0'
