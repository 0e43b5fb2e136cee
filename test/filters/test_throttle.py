"""The throttle family. In the test process: what passes and what waits for an algo.Quota, in order, split
anywhere (hypothesis), and a waiting stream that goes away. Against a running pipyx: throttle_data_rate measured over
a transfer, throttle_concurrency holding the stream over its quota, throttle_message_rate(quota), a quota a script
adjusts, and a quota function that returns something else. (throttle_message_rate(rate, ...) on MQTT:
test/mqtt/test_proxy.py.)"""
import socket
import threading
import time

from hypothesis import given, settings, strategies as st

from test.helpers import RawClient, free_port, req, wait_for


def in_process(build):
    from pipyx.testing import pipeline
    return pipeline(build)


def passed_bytes(collector):
    return b''.join(e.to_bytes() for e in collector.events if type(e).__name__ == 'Data')


@settings(max_examples=60, deadline=None)
@given(pieces=st.lists(st.binary(min_size=0, max_size=40), max_size=12),
       grants=st.lists(st.integers(min_value=0, max_value=50), max_size=12))
def test_data_rate_passes_exactly_what_the_quota_allows(pieces, grants):
    from pipyx import Data, StreamEnd, algo
    quota = algo.Quota(0)
    p, c = in_process(lambda p: p.throttle_data_rate(quota))
    stream = b''.join(pieces)
    for piece in pieces:
        p.input(Data(piece))
    given_so_far = 0
    for n in grants:
        quota.produce(n)
        given_so_far += n
        # Bytes pass in order, as many as were produced, never more.
        assert passed_bytes(c) == stream[:given_so_far]
    p.input(StreamEnd())
    quota.produce(len(stream))
    assert passed_bytes(c) == stream                    # byte for byte, once the quota covers it all
    assert type(c.events[-1]).__name__ == 'StreamEnd'   # and what came behind the data, after it


def test_concurrency_passes_one_stream_then_the_next_when_produced():
    from pipyx import Data, algo
    quota = algo.Quota(1)
    p1, c1 = in_process(lambda p: p.throttle_concurrency(quota))
    p1.input(Data(b'a'))
    p2, c2 = in_process(lambda p: p.throttle_concurrency(quota))
    p2.input(Data(b'b'))
    p2.input(Data(b'c'))
    assert passed_bytes(c1) == b'a' and passed_bytes(c2) == b''
    p1.input(Data(b'more'))                             # a stream inside stays inside
    assert passed_bytes(c1) == b'amore'
    quota.produce(1)
    assert passed_bytes(c2) == b'bc'


def test_a_waiting_stream_that_goes_away_leaves_the_line():
    from pipyx import Data, MessageStart, algo
    quota = algo.Quota(0)
    gone, _ = in_process(lambda p: p.throttle_message_rate(quota))
    gone.input(MessageStart())
    waiting, c = in_process(lambda p: p.throttle_message_rate(quota))
    waiting.input(MessageStart())
    waiting.input(Data(b'body'))
    gone.close()
    quota.produce(1)                                    # goes to the stream still there, not to the one that left
    assert [type(e).__name__ for e in c.events] == ['MessageStart', 'Data']
    assert quota.current == 0


def echo_script(port, throttle, prelude=''):
    # A listen() with no filter after the throttle echoes what passes it.
    return ('from pipyx import pipy, algo, ctx\n%s\npipy().listen(%d).%s\n' % (prelude, port, throttle))


def connect(port):
    s = socket.create_connection(('127.0.0.1', port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def echoes(sock, payload, wait):
    """Whether payload comes back within wait seconds."""
    sock.sendall(payload)
    sock.settimeout(wait)
    got = b''
    try:
        while len(got) < len(payload):
            chunk = sock.recv(65536)
            if not chunk:
                return False
            got += chunk
    except socket.timeout:
        return False
    return got == payload


# --------------------------------------------------------------------------------------------- throttle_data_rate

def test_data_rate_paces_a_transfer(run_pipyx):
    # 100 kB every 0.25 s: 400 kB/s. 600 kB take about 1.25 s (the first 100 kB go at once).
    port = free_port()
    run_pipyx(echo_script(port, 'throttle_data_rate(algo.Quota(100_000, per=0.25))'), port=port)
    payload = bytes(range(256)) * (600_000 // 256)
    with connect(port) as s:
        sender = threading.Thread(target=s.sendall, args=(payload,), daemon=True)
        t0 = time.monotonic()
        sender.start()
        got = bytearray()
        s.settimeout(10)
        while len(got) < len(payload):
            chunk = s.recv(65536)
            assert chunk, 'closed after %d bytes' % len(got)
            got += chunk
        took = time.monotonic() - t0
        sender.join(5)
    print('600 kB through a 400 kB/s quota took %.2f s' % took)
    assert bytes(got) == payload
    assert 0.9 <= took <= 4.0, took


def test_data_rate_stops_reading_the_sender(run_pipyx):
    # A client that never reads the echo: the quota lets 10 kB through every 0.5 s, and pipyx reads the client only
    # as fast as that, so the client's sending stalls instead of pipyx buffering what it sends.
    port = free_port()
    run_pipyx(echo_script(port, 'throttle_data_rate(algo.Quota(10_000, per=0.5))'), port=port)
    with connect(port) as s:
        s.setblocking(False)
        sent = 0
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            try:
                sent += s.send(b'x' * 65536)
            except BlockingIOError:
                time.sleep(0.01)
    # What was sent sits in socket buffers (a few MB at most on loopback), not in an ever-growing pipyx.
    assert sent < 16 << 20, sent


# ------------------------------------------------------------------------------------------- throttle_concurrency

def test_concurrency_holds_the_stream_over_quota(run_pipyx):
    port = free_port()
    run_pipyx(echo_script(port, 'throttle_concurrency(algo.Quota(2))'), port=port)
    a, b, c = connect(port), connect(port), connect(port)
    try:
        assert echoes(a, b'a', 2)
        assert echoes(b, b'b', 2)
        assert not echoes(c, b'c', 0.5), 'a third stream went through a quota of 2'
        a.close()                                   # its stream ends and gives its unit back
        c.settimeout(3)
        assert c.recv(10) == b'c'
        assert echoes(b, b'again', 2)               # a stream inside stays inside
    finally:
        for s in (a, b, c):
            s.close()


def test_concurrency_quota_per_client_by_key(run_pipyx):
    # A quota per client address: quotas made with one key share their amount.
    port = free_port()
    prelude = ('def quota_of_client():\n'
               '    return algo.Quota(1, key=ctx.inbound.remote_address)\n')
    run_pipyx(echo_script(port, 'throttle_concurrency(quota_of_client)', prelude), port=port)
    first = connect(port)
    second = connect(port)
    other = socket.create_connection(('127.0.0.1', port), timeout=5, source_address=('127.0.0.2', 0))
    try:
        assert echoes(first, b'1', 2)
        assert not echoes(second, b'2', 0.5), 'a second stream from one client went through its quota of 1'
        assert echoes(other, b'3', 2), 'another client was held by the first one\'s quota'
        first.close()
        second.settimeout(3)
        assert second.recv(10) == b'2'                  # the client's unit came back with its first stream's end
    finally:
        for s in (first, second, other):
            s.close()


def test_quota_function_returning_something_else_ends_that_stream(run_pipyx):
    port = free_port()
    p = run_pipyx(echo_script(port, 'throttle_data_rate(lambda: 42)'), port=port)
    with connect(port) as s:
        s.sendall(b'hi')
        s.settimeout(3)
        assert s.recv(10) == b''                    # closed, nothing echoed
    assert wait_for(lambda: 'not an algo.Quota' in p.log(), 3), p.log()
    assert 'main-0.py:' in p.log()


# ------------------------------------------------------------------------------------------- throttle_message_rate

def test_message_rate_with_a_quota_and_one_produced_by_the_script(run_pipyx):
    # One request a second, shared by every connection; a request to /more produces one more at once.
    port = free_port()
    script = '''
        from pipyx import pipy, algo, Message
        quota = algo.Quota(1, per=1)

        def answer(req):
            if req.head.path == '/more':
                quota.produce(1)
            return Message('%g' % quota.current)

        pipy().listen({port}).demux_http().to(lambda p: p.throttle_message_rate(quota).replace_message(answer))
    '''.replace('{port}', str(port))
    run_pipyx(script, port=port)
    with RawClient(port) as c:
        t0 = time.monotonic()
        c.send(req('/'))
        assert c.read_response().status == 200
        c.send(req('/'))                            # waits for the quota to come back
        assert c.read_response().status == 200
        took = time.monotonic() - t0
        assert 0.7 <= took <= 3.0, took
        c.send(req('/more'))                        # produced by the script while it is answered
        c.read_response()
        t1 = time.monotonic()
        c.send(req('/'))
        assert c.read_response().status == 200
        assert time.monotonic() - t1 < 0.5, 'a produced quota did not let the next request through at once'
