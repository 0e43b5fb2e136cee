"""mux: messages of many streams merged into shared sessions, each reply back to the stream its message came from,
in order; session keys; max_queue, max_messages, max_idle; a session that ends with requests waiting; streams that
end or fail. Driven in the test process here; test_mux_peers.py runs it against real HTTP and MQTT peers.
"""
import asyncio
import itertools
import json
import time

import pytest
from hypothesis import given, settings, strategies as st

from pipyx import Data, Message, MessageEnd, MessageStart, StreamEnd, ctx
from pipyx._native import Context, EventCollector
from pipyx.testing import layout
from test.helpers.streams import feed, summary, until
from test.mqtt.support import mosquitto, paho_clients  # noqa: F401  (fixtures)


def msg(head, body=b''):
    return [MessageStart(head), Data(body), MessageEnd()] if body else [MessageStart(head), MessageEnd()]


def heads(events):
    return [e.head for e in events if isinstance(e, MessageStart)]


class Sessions:
    """A session layout that numbers its instances and answers each message {'re': head, 's': its number}, after
    delay(head) seconds (in order: a session answers its messages one after another); what each session saw is in
    .seen[number], its end in .ended."""

    def __init__(self, delay=lambda head: 0, answer=None):
        self.numbers = itertools.count(1)
        self.seen = {}
        self.arrived = 0                # messages into any session, counted as they arrive
        self.ended = {}
        self.delay = delay
        self.answer = answer

    def build(self, s):
        def opened(evt):
            ctx.session = next(self.numbers)
            self.seen[ctx.session] = []

        async def reply(m):
            n = ctx.session
            self.seen[n].append(m.head)
            d = self.delay(m.head)
            if d:
                await asyncio.sleep(d)
            if self.answer is not None:
                return self.answer(m, n)
            return Message({'re': m.head, 's': n}, m.body)

        def ended(evt):
            self.ended[ctx.session] = evt.error
        def arrived(evt):
            self.arrived += 1
        return (s.handle_stream_start(opened).handle_message_start(arrived).handle_stream_end(ended)
                .replace_message(reply))


def mux_layout(sessions, key='shared', **options):
    return layout(lambda p: p.mux(key, **options).to(sessions.build), session=0)


def streams(lay, n, context=None):
    out = []
    for _ in range(n):
        c = EventCollector()
        out.append((lay.start(c, context), c))
    return out


def run(main):
    return asyncio.run(main())


def test_streams_share_one_session_and_each_gets_its_own_replies_in_order():
    s = Sessions(delay=lambda h: 0.01 if h[1] == 0 else 0)

    async def main():
        ss = streams(mux_layout(s), 3)
        for i in range(2):
            for k, (p, c) in enumerate(ss):
                feed(p, msg((k, i), b'body %d.%d' % (k, i)))
        await until(lambda: all(len(heads(c.events)) == 2 for _, c in ss))
        return ss
    ss = run(main)
    assert list(s.seen) == [1]
    for k, (_, c) in enumerate(ss):
        assert summary(c.events) == [('start', {'re': (k, 0), 's': 1}), ('data', b'body %d.0' % k), ('end', None),
                                     ('start', {'re': (k, 1), 's': 1}), ('data', b'body %d.1' % k), ('end', None)]


def test_messages_go_in_whole_even_when_their_bodies_interleave():
    s = Sessions()

    async def main():
        (p1, c1), (p2, c2) = streams(mux_layout(s), 2)
        feed(p1, [MessageStart('a'), Data(b'a1')])
        feed(p2, [MessageStart('b'), Data(b'b1')])
        feed(p1, [Data(b'a2'), MessageEnd()])
        feed(p2, [Data(b'b2'), MessageEnd()])
        await until(lambda: heads(c1.events) and heads(c2.events))
        return c1, c2
    c1, c2 = run(main)
    assert summary(c1.events)[1] == ('data', b'a1a2') and summary(c2.events)[1] == ('data', b'b1b2')
    assert s.seen[1] == ['a', 'b']


def test_session_keys_choose_the_pool():
    s = Sessions()

    def build(p):
        def pick():
            return ctx.tenant
        return p.handle_message_start(lambda e: setattr(ctx, 'tenant', e.head)).mux(pick).to(s.build)

    async def main():
        lay = layout(build, tenant='', session=0)
        ss = streams(lay, 3)
        for (p, c), tenant in zip(ss, ('a', 'b', 'a')):
            feed(p, msg(tenant))
        await until(lambda: all(heads(c.events) for _, c in ss))
        return [heads(c.events)[0]['s'] for _, c in ss]
    assert run(main) == [1, 2, 1]


def test_without_a_key_the_streams_of_one_connection_share_a_session():
    s = Sessions()

    async def main():
        lay = mux_layout(s, key=None)
        conn_a, conn_b = Context(), Context()
        ss = streams(lay, 2, conn_a) + streams(lay, 2, conn_b)
        for k, (p, c) in enumerate(ss):
            feed(p, msg(k))
        await until(lambda: all(heads(c.events) for _, c in ss))
        return [heads(c.events)[0]['s'] for _, c in ss]
    assert run(main) == [1, 1, 2, 2]


def test_a_full_queue_opens_another_session():
    s = Sessions(delay=lambda h: 0.05)

    async def main():
        ss = streams(mux_layout(s, max_queue=2), 5)
        for k, (p, c) in enumerate(ss):
            feed(p, msg(k))
        await until(lambda: all(heads(c.events) for _, c in ss))
        first = [heads(c.events)[0]['s'] for _, c in ss]
        # once answered there is room again: the next message goes to the first session
        p, c = ss[0]
        feed(p, msg('again'))
        await until(lambda: len(heads(c.events)) == 2)
        return first, heads(c.events)[1]['s']
    assert run(main) == ([1, 1, 2, 2, 3], 1)


def test_a_stream_gets_its_replies_in_order_even_from_different_sessions():
    # Session 1 is full (max_queue 2) with another stream's message and A's slow one: A's second message goes to
    # session 2 and is answered first, but reaches A after the first.
    s = Sessions(delay=lambda h: 0.05 if h in ('other', 'slow') else 0)

    async def main():
        (p, c), (q, d) = streams(mux_layout(s, max_queue=2), 2)
        feed(q, msg('other'))
        feed(p, msg('slow') + msg('fast') + [StreamEnd()])
        await until(lambda: c.events and isinstance(c.events[-1], StreamEnd))
        return c.events
    events = run(main)
    assert heads(events) == [{'re': 'slow', 's': 1}, {'re': 'fast', 's': 2}]
    assert events[-1].error is None


def test_a_stream_at_max_queue_holds_its_messages_until_replies_come():
    s = Sessions(delay=lambda h: 0.01)

    async def main():
        (p, c), = streams(mux_layout(s, max_queue=2), 1)
        feed(p, [e for i in range(6) for e in msg(i)] + [StreamEnd()])
        assert s.arrived == 2                       # two went in; four wait in the stream
        await until(lambda: c.events and isinstance(c.events[-1], StreamEnd))
        return c.events
    events = run(main)
    assert heads(events) == [{'re': i, 's': 1} for i in range(6)]


def test_max_messages_retires_a_session_once_its_replies_are_out():
    s = Sessions()

    async def main():
        (p, c), = streams(mux_layout(s, max_messages=2), 1)
        for i in range(5):
            feed(p, msg(i))
            await until(lambda: len(heads(c.events)) == i + 1)
        return [h['s'] for h in heads(c.events)]
    assert run(main) == [1, 1, 2, 2, 3]
    assert s.ended == {1: None, 2: None}           # the first two were closed: their pipelines saw a clean end


def test_an_idle_session_is_closed_after_max_idle():
    s = Sessions()

    async def main():
        (p, c), = streams(mux_layout(s, max_idle=0.1), 1)
        feed(p, msg('one'))
        await until(lambda: heads(c.events))
        await asyncio.sleep(0.02)
        assert s.ended == {}
        await until(lambda: 1 in s.ended, timeout=1.0)
        feed(p, msg('two'))                          # a new session for what comes next
        await until(lambda: len(heads(c.events)) == 2)
        return heads(c.events)
    assert [h['s'] for h in run(main)] == [1, 2]
    assert s.ended[1] is None


def test_a_session_that_ends_fails_the_requests_waiting_on_it_and_no_others():
    # Session for key 'x' answers 'ok' and then its upstream goes away while 'lost' and 'also lost' wait.
    def answer(m, n):
        if m.head == 'ok':
            return Message({'re': 'ok', 's': n})
        return StreamEnd('ConnectionReset')
    s = Sessions(answer=answer)
    other = Sessions()

    async def main():
        ss = streams(mux_layout(s), 3)
        (q, d), = streams(mux_layout(other), 1)
        feed(ss[0][0], msg('ok'))
        feed(ss[1][0], msg('lost'))
        feed(ss[2][0], msg('also lost'))
        feed(q, msg('elsewhere'))
        await until(lambda: all(c.events for _, c in ss) and d.events)
        return [summary(c.events) for _, c in ss], summary(d.events)
    got, elsewhere = run(main)
    assert got == [[('start', {'re': 'ok', 's': 1}), ('end', None)],
                   [('stream_end', 'ConnectionReset')],
                   [('stream_end', 'ConnectionReset')]]
    assert elsewhere == [('start', {'re': 'elsewhere', 's': 1}), ('end', None)]


def test_an_error_inside_a_session_fails_the_requests_waiting_on_it_with_runtime_error():
    def answer(m, n):
        if m.head == 'boom':
            raise ValueError('the session broke')
        return Message({'re': m.head, 's': n})
    s = Sessions(answer=answer)

    async def main():
        ss = streams(mux_layout(s), 3)
        for (p, c), head in zip(ss, ('ok', 'boom', 'queued')):
            feed(p, msg(head))
        await until(lambda: all(c.events for _, c in ss))
        (p, c) = ss[0]
        feed(p, msg('later'))                        # a new session
        await until(lambda: len(heads(c.events)) == 2)
        return [summary(c.events) for _, c in ss]
    got = run(main)
    assert got[0] == [('start', {'re': 'ok', 's': 1}), ('end', None), ('start', {'re': 'later', 's': 2}),
                      ('end', None)]
    assert got[1] == got[2] == [('stream_end', 'RuntimeError')]


def test_a_stream_that_fails_has_its_replies_dropped_and_others_keep_theirs():
    s = Sessions(delay=lambda h: 0.03)

    async def main():
        (p1, c1), (p2, c2) = streams(mux_layout(s), 2)
        feed(p1, msg('gone'))
        feed(p2, msg('stays'))
        feed(p1, [StreamEnd('ConnectionReset')])
        assert summary(c1.events) == [('stream_end', 'ConnectionReset')]
        await until(lambda: heads(c2.events))
        await asyncio.sleep(0.01)
        return c1.events, c2.events
    e1, e2 = run(main)
    assert len(e1) == 1
    assert heads(e2) == [{'re': 'stays', 's': 1}]


def test_a_stream_that_ends_normally_gets_its_replies_first():
    s = Sessions(delay=lambda h: 0.02)

    async def main():
        (p, c), = streams(mux_layout(s), 1)
        feed(p, msg(1) + msg(2) + [StreamEnd()])
        await asyncio.sleep(0)
        assert c.events == []
        await until(lambda: c.events and isinstance(c.events[-1], StreamEnd))
        return c.events
    events = run(main)
    assert [h['re'] for h in heads(events)] == [1, 2] and events[-1].error is None


def test_one_way_messages_await_nothing():
    s = Sessions(answer=lambda m, n: None if m.head.startswith('oneway') else Message({'re': m.head, 's': n}))

    async def main():
        (p, c), = streams(mux_layout(s, output_count=lambda e: 0 if e.head.startswith('oneway') else 1), 1)
        feed(p, msg('oneway 1') + msg('ask') + msg('oneway 2') + [StreamEnd()])
        await until(lambda: c.events and isinstance(c.events[-1], StreamEnd))
        return c.events
    assert heads(run(main)) == [{'re': 'ask', 's': 1}]
    assert s.seen[1] == ['oneway 1', 'ask', 'oneway 2']


def test_a_message_over_max_message_size_ends_its_stream_only():
    s = Sessions()

    async def main():
        (p1, c1), (p2, c2) = streams(mux_layout(s, max_message_size=100), 2)
        feed(p1, [MessageStart('big'), Data(b'x' * 60), Data(b'x' * 60), MessageEnd()])
        feed(p2, msg('small', b'y' * 100))
        await until(lambda: heads(c2.events))
        return c1.events, c2.events
    e1, e2 = run(main)
    assert summary(e1) == [('stream_end', 'BufferOverflow')]
    assert summary(e2)[1] == ('data', b'y' * 100)
    assert s.seen[1] == ['small']


def test_a_session_key_that_cannot_be_one_ends_that_stream_with_runtime_error():
    # The first stream's key is a list, which no pool can be found by; the other stream is not touched.
    s = Sessions()

    def build(p):
        return (p.handle_message_start(lambda e: setattr(ctx, 'tenant', [] if e.head == 'a' else e.head))
                .mux(lambda: ctx.tenant).to(s.build))

    async def main():
        (p1, c1), (p2, c2) = streams(layout(build, tenant='', session=0), 2)
        feed(p1, msg('a'))
        feed(p2, msg('b'))
        await until(lambda: heads(c2.events))
        return c1.events, c2.events
    e1, e2 = run(main)
    assert summary(e1) == [('stream_end', 'RuntimeError')]
    assert heads(e2) == [{'re': 'b', 's': 1}]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 3)), max_size=5), min_size=1, max_size=5),
       st.integers(0, 3), st.integers(0, 4))
def test_any_mix_of_streams_and_limits_gives_each_stream_its_replies_in_order(plan, max_queue, max_messages):
    # plan[k] = the messages of stream k: (how many replies, how many loop turns the session takes to answer)
    async def main():
        async def answer(m):
            k, i = m.head
            n, turns = plan[k][i]
            for _ in range(turns):
                await asyncio.sleep(0)
            return [Message({'re': m.head, 'part': j}) for j in range(n)] or None
        lay = layout(lambda p: p.mux('k', output_count=lambda e: plan[e.head[0]][e.head[1]][0], max_queue=max_queue,
                                     max_messages=max_messages).to(lambda s: s.replace_message(answer)))
        ss = streams(lay, len(plan))
        longest = max(len(msgs) for msgs in plan)
        for i in range(longest):                  # the streams' messages interleave
            for k, (p, c) in enumerate(ss):
                if i < len(plan[k]):
                    feed(p, msg((k, i)))
        for p, c in ss:
            feed(p, [StreamEnd()])
        await until(lambda: all(c.events and isinstance(c.events[-1], StreamEnd) for _, c in ss))
        return [c.events for _, c in ss]
    for k, events in enumerate(run(main)):
        assert heads(events) == [{'re': (k, i), 'part': j} for i, (n, _) in enumerate(plan[k]) for j in range(n)]
        assert events[-1].error is None


def test_options_are_checked_where_the_script_gives_them():
    from pipyx.errors import ScriptError
    for options, word in [({'max_idle': 'soon'}, 'max_idle'), ({'max_queue': 1.5}, 'max_queue'),
                          ({'output_count': None}, 'output_count'), ({'max_messages': -1}, 'max_messages')]:
        with pytest.raises(ScriptError, match=word):
            layout(lambda p: p.mux('k', **options).to(lambda s: s.dump()))
    with pytest.raises(ScriptError, match='session_key'):
        layout(lambda p: p.mux(['not', 'hashable']).to(lambda s: s.dump()))


# ------------------------------------------------------------------------------------ against real peers: HTTP/1

HTTP_SCRIPT = '''
from pipyx import pipy

UPSTREAM = '127.0.0.1:{backend}'


def proxy(port, **mux_options):
    (pipy().listen('127.0.0.1:%d' % port)
        .decode_http_request()
        .demux().to(lambda p: p.mux('upstream', **mux_options).to(
            lambda s: s.encode_http_request().connect(UPSTREAM).decode_http_response()))
        .encode_http_response())


proxy({p_main})
proxy({p_queue}, max_queue=2)
proxy({p_idle}, max_idle=0.3)

# mux straight after the decoder: one client's pipelined requests are one stream
(pipy().listen('127.0.0.1:{p_stream}')
    .decode_http_request()
    .mux('upstream', max_queue=2).to(lambda s: s.encode_http_request().connect(UPSTREAM).decode_http_response())
    .encode_http_response())
'''


@pytest.fixture(scope='module')
def http_mux(tmp_path_factory):
    from test.helpers import Backend, ScriptOnPorts
    tmp = tmp_path_factory.mktemp('http_mux')
    backend = Backend(str(tmp))
    proxy = ScriptOnPorts(str(tmp), HTTP_SCRIPT, ('p_main', 'p_queue', 'p_idle', 'p_stream'), backend=backend.port)
    proxy.backend = backend.port
    yield proxy
    proxy.proc.stop()
    backend.stop()


def opened(backend_port):
    from test.helpers import backend_stats
    return backend_stats(backend_port)['opened']


def test_http_clients_share_one_upstream_connection_and_get_their_own_answers(http_mux):
    import threading
    from test.helpers import RawClient, echo_of, req
    before = opened(http_mux.backend)
    results = {}

    def client(k):
        with RawClient(http_mux.p_main) as c:
            # three requests pipelined on each client connection
            c.send(b''.join(req('/echo?client=%d&n=%d' % (k, n)) for n in range(3)))
            results[k] = [echo_of(c.read_response())['path'] for _ in range(3)]
    threads = [threading.Thread(target=client, args=(k,)) for k in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == {k: ['/echo?client=%d&n=%d' % (k, n) for n in range(3)] for k in range(12)}
    assert opened(http_mux.backend) - before == 2     # one upstream connection for all; one for the stats request


def test_http_a_full_queue_opens_another_upstream_connection(http_mux):
    import threading
    from test.helpers import RawClient, req
    before = opened(http_mux.backend)
    answers = []

    def client():
        with RawClient(http_mux.p_queue) as c:
            c.send(req('/slow/300'))
            answers.append(c.read_response().body)
    threads = [threading.Thread(target=client) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert answers == [b'slow'] * 6
    assert opened(http_mux.backend) - before == 3 + 1     # two requests at most waiting on each; the stats request


def test_http_a_stream_at_max_queue_waits_for_its_replies_instead_of_opening_sessions(http_mux):
    from test.helpers import RawClient, echo_of, req
    before = opened(http_mux.backend)
    paths = ['/echo?n=%d' % n for n in range(20)]
    with RawClient(http_mux.p_stream) as c:
        c.send(b''.join(req(p) for p in paths))       # one read: the stream holds all but two of them
        assert [echo_of(c.read_response())['path'] for _ in paths] == paths
    assert opened(http_mux.backend) - before == 1 + 1


def test_http_an_upstream_that_closes_fails_the_requests_waiting_on_it_only(http_mux):
    from test.helpers import RawClient, echo_of, req
    a, b, c = RawClient(http_mux.p_main), RawClient(http_mux.p_main), RawClient(http_mux.p_main)
    try:
        a.send(req('/slow/300'))                    # answered
        time.sleep(0.05)
        b.send(req('/close'))                       # the upstream closes instead of answering
        time.sleep(0.05)
        c.send(req('/echo?after-close'))            # queued behind it on the same connection
        assert a.read_response().body == b'slow'
        assert b.is_closed() and c.is_closed()
        # the next request gets a new upstream connection
        with RawClient(http_mux.p_main) as d:
            d.send(req('/echo?next'))
            assert echo_of(d.read_response())['path'] == '/echo?next'
    finally:
        for x in (a, b, c):
            x.close()


def test_http_an_idle_upstream_connection_is_closed_after_max_idle(http_mux):
    from test.helpers import RawClient, backend_stats, req, wait_for
    with RawClient(http_mux.p_idle) as c:
        c.send(req('/conn'))
        conn = json.loads(c.read_response().body)['conn']
        assert conn in backend_stats(http_mux.backend)['open']
        assert wait_for(lambda: conn not in backend_stats(http_mux.backend)['open'], 3.0)
        c.send(req('/conn'))                        # the client's connection stays; a new upstream one is made
        assert json.loads(c.read_response().body)['conn'] > conn


def test_http_bad_input_ends_that_client_only(http_mux):
    from test.helpers import RawClient, req
    with RawClient(http_mux.p_main) as good, RawClient(http_mux.p_main) as bad:
        good.send(req('/conn'))
        conn = json.loads(good.read_response().body)['conn']
        bad.send(b'NOT HTTP AT ALL\r\n\r\n')
        assert bad.is_closed()
        good.send(req('/conn'))
        assert json.loads(good.read_response().body)['conn'] == conn   # the shared connection is untouched


# ------------------------------------------------------------------------------- against real peers: MQTT 3.1.1

MQTT_SCRIPT = '''
from pipyx import Message, ctx, pipy
from pipyx.mqtt import Packet

BROKER = '127.0.0.1:{broker}'


def replies(evt):
    # What the broker answers: a PUBACK for a QoS 1 PUBLISH, a PINGRESP for a PINGREQ; a QoS 0 PUBLISH nothing.
    head = evt.head
    return 1 if (head.type == 'PUBLISH' and head.qos == 1) or head.type in ('PINGREQ', 'CONNECT') else 0


def broker_session(s):
    # One connection to the broker, opened with a CONNECT of its own; its CONNACK is nobody's reply.
    return (s.replace_stream_start(lambda evt: [Message(Packet('CONNECT', client_id='{client_id}',
                                                               clean_start=True, keep_alive=60)), evt])
             .encode_mqtt().connect(BROKER).decode_mqtt()
             .replace_message(lambda m: None if m.head.type == 'CONNACK' else m))


(pipy(kind='')
    .listen('127.0.0.1:{port}')
    .decode_mqtt()
    .demux(replies).to(lambda p: p
        .handle_message_start(lambda evt: setattr(ctx, 'kind', evt.head.type))
        .branch(
            lambda: ctx.kind == 'CONNECT', lambda b: b.replace_message(Message(Packet('CONNACK', reason_code=0))),
            lambda: ctx.kind == 'DISCONNECT', lambda b: b.replace_message(None),
            lambda b: b.mux('broker', output_count=replies).to(broker_session)))
    .encode_mqtt())
'''


def test_mqtt_devices_publish_through_one_shared_broker_connection(mosquitto, run_pipyx, paho_clients):
    import threading
    import types
    from test.helpers import established, free_port
    from test.mqtt.support import PahoClient
    port = free_port()
    client_id = 'pipyx-mux-%d' % port
    run_pipyx(MQTT_SCRIPT.format(broker=mosquitto.port, port=port, client_id=client_id), port=port)
    watcher = paho_clients(level=4)
    watcher.subscribe('mux/%d/#' % port, qos=1)
    here = types.SimpleNamespace(host='127.0.0.1', port=port)
    devices = [PahoClient(here, level=4, client_id='device-%d' % i) for i in range(8)]
    try:
        def publish(i, d):
            for n in range(5):
                d.publish('mux/%d/%d' % (port, i), b'%d:%d:%d' % (i, n, n % 2), qos=n % 2)   # QoS 1 waits for its PUBACK
        threads = [threading.Thread(target=publish, args=(i, d)) for i, d in enumerate(devices)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        got = sorted(watcher.message().payload for _ in range(8 * 5))
        assert got == sorted(b'%d:%d:%d' % (i, n, n % 2) for i in range(8) for n in range(5))
        assert established(mosquitto.port) == 2               # the watcher, and pipyx's one session
        assert mosquitto.log().count('as %s' % client_id) == 1
    finally:
        for d in devices:
            d.close()


def test_mqtt_garbage_from_one_device_ends_its_connection_only(mosquitto, run_pipyx, paho_clients):
    import socket
    import types
    from test.helpers import free_port
    from test.mqtt.support import PahoClient
    port = free_port()
    run_pipyx(MQTT_SCRIPT.format(broker=mosquitto.port, port=port, client_id='pipyx-mux-%d' % port), port=port)
    watcher = paho_clients(level=4)
    watcher.subscribe('mux/%d/#' % port, qos=1)
    good = PahoClient(types.SimpleNamespace(host='127.0.0.1', port=port), level=4, client_id='good')
    try:
        good.publish('mux/%d/a' % port, b'before', qos=1)
        with socket.create_connection(('127.0.0.1', port), timeout=5) as bad:
            bad.sendall(b'\x00\x03abc')                          # packet type 0 is reserved
            assert bad.recv(100) == b''
        good.publish('mux/%d/a' % port, b'after', qos=1)
        assert [watcher.message().payload for _ in range(2)] == [b'before', b'after']
    finally:
        good.close()


def test_http_after_a_reload_the_replaced_sessions_serve_their_connections_then_close(run_pipyx, backend):
    import signal
    from test.helpers import RawClient, backend_stats, free_port, req, wait_for
    port = free_port()
    script = '''
from pipyx import pipy
(pipy().listen('127.0.0.1:{port}')
    .decode_http_request()
    .demux().to(lambda p: p.mux('upstream', max_idle=0.5).to(
        lambda s: s.encode_http_request().connect('127.0.0.1:{backend}').decode_http_response()))
    .encode_http_response())
'''.format(port=port, backend=backend)
    p = run_pipyx(script, port=port)

    def conn(client):
        client.send(req('/conn'))
        return json.loads(client.read_response().body)['conn']
    with RawClient(port) as old:
        before = conn(old)
        p.signal(signal.SIGHUP)
        assert wait_for(lambda: 'reloaded' in p.log(), 5), p.log()
        with RawClient(port) as new:
            assert conn(new) != before                    # the new version has sessions of its own
        assert conn(old) == before                        # a connection of the old version keeps its session
        assert wait_for(lambda: before not in backend_stats(backend)['open'], 3)    # which closes once idle
        assert conn(old) > before
