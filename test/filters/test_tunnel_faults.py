"""connect_tunnel and accept_tunnel when things go wrong: a lost tunnel, a silent or stopping peer, peers that are no tunnel, and the
limits on streams and windows. Real pipyx processes and peers on 127.0.0.1.
"""
import signal
import time

import pytest

from test.filters.tunnel_peers import black_hole, by_role, echo, pattern, peers, speaks_first
from test.filters.tunnel_support import (HELLO, PROMPT, Client, Pusher, cloud_script, edge_script, open_tunnel, script,
                                         tunnel_frame, wait_log)
from test.helpers import FAST_STOP, established, free_port, wait_for

assert peers                               # a fixture, used by name


# ---------------------------------------------------------------------------------------------------- losing a tunnel

def test_a_lost_tunnel_closes_its_streams_and_new_streams_get_a_new_tunnel(run_pipyx, peers):
    backend = peers.serve(by_role)
    cloud_port, edge_port = free_port(), free_port()
    run_pipyx(script(cloud_script(cloud_port, backend.port)), port=cloud_port, args=FAST_STOP)
    relay = peers.relay(cloud_port)        # edge -> relay -> cloud: the test can cut the tunnels
    run_pipyx(script(edge_script(edge_port, relay.port, 'max_sessions=2')), port=edge_port, args=FAST_STOP)
    clients = [Client(edge_port) for _ in range(6)]
    for i, c in enumerate(clients):
        c.send(b'echo %d\n' % i)
        assert c.echo(b'before')[0] == b'before'
    assert relay.accepted == 2

    # One tunnel is cut: the streams it carried end (none is left hanging), and so do their connections to the
    # backend at the cloud; the streams of the other tunnel go on.
    relay.abort(0)
    lost, deadline = set(), time.monotonic() + PROMPT
    while len(lost) < 3 and time.monotonic() < deadline:
        lost.update(i for i, c in enumerate(clients) if i not in lost and c.closed_within(0.02))
    assert len(lost) == 3, 'expected the 3 streams of one tunnel to end, %s did' % sorted(lost)
    for i in lost:
        assert backend.find(b'echo %d\n' % i).ended.wait(PROMPT)
    for i, c in enumerate(clients):
        if i not in lost:
            assert c.echo(b'unaffected')[0] == b'unaffected'
            assert not backend.find(b'echo %d\n' % i).ended.is_set()

    relay.abort()
    for i, c in enumerate(clients):
        if i not in lost:
            assert c.closed_within(PROMPT)
    for conn in backend.conns:
        assert conn.ended.wait(PROMPT)

    for i in range(3):
        c = Client(edge_port)
        c.send(b'echo again %d\n' % i)
        assert c.echo(b'after')[0] == b'after'
        c.close()
    assert relay.accepted == 4


def test_streams_with_different_session_keys_travel_in_different_tunnels(run_pipyx, peers):
    backend = peers.serve(by_role)
    cloud_port, edge_port = free_port(), free_port()
    run_pipyx(script(cloud_script(cloud_port, backend.port)), port=cloud_port, args=FAST_STOP)
    run_pipyx(script('''
def tenant(data):
    if ctx.tenant is None:
        ctx.tenant = data.to_bytes().split(b'\\n')[0].split(b' ')[1]      # 'echo TENANT\\n...'

pipy(tenant=None).listen('127.0.0.1:{edge}', idle_timeout=0).handle_data(tenant).connect_tunnel(
    session_key=lambda: ctx.tenant, max_sessions=1).to(
        lambda p: p.connect('127.0.0.1:{cloud}', read_timeout=0, idle_timeout=0))
'''.format(edge=edge_port, cloud=cloud_port)), port=edge_port, args=FAST_STOP)
    clients = []
    for tenant, expected_tunnels in ((b'a', 1), (b'a', 1), (b'b', 2), (b'b', 2), (b'c', 3)):
        c = Client(edge_port)
        c.send(b'echo %s\n' % tenant)
        assert c.echo(b'x')[0] == b'x'
        clients.append(c)
        assert established(cloud_port) == expected_tunnels
    for c in clients:
        c.close()


def test_a_restarted_cloud_serves_new_streams(run_pipyx, peers):
    t, backend = open_tunnel(run_pipyx, peers, 'max_sessions=1')
    clients = [t.client(b'echo') for _ in range(3)]
    for c in clients:
        assert c.echo(b'before')[0] == b'before'

    t.cloud.proc.kill()
    t.cloud.proc.wait(5)
    for c in clients:
        assert c.closed_within(PROMPT)
    down = t.client(b'echo')               # while the cloud is down, a stream is refused, not left waiting
    assert down.closed_within(PROMPT)

    run_pipyx(script(cloud_script(t.cloud_port, t.backend_port)), port=t.cloud_port, args=FAST_STOP)
    for _ in range(3):
        c = t.client(b'echo')
        assert c.echo(b'after')[0] == b'after'
        c.close()


def test_a_stopping_cloud_finishes_its_streams_refuses_new_ones_and_exits_when_they_are_done(run_pipyx, peers):
    backend = peers.serve(by_role)
    cloud_port, edge_port = free_port(), free_port()
    cloud = run_pipyx(script(cloud_script(cloud_port, backend.port)), port=cloud_port)     # drain timeout 10 s
    idle_edge_port = free_port()           # two edges: one tunnel will carry a stream, the other none
    run_pipyx(script(edge_script(edge_port, cloud_port, 'max_sessions=1'),
                     edge_script(idle_edge_port, cloud_port, 'max_sessions=1')), port=idle_edge_port, args=FAST_STOP)
    busy, idle = Client(edge_port), Client(idle_edge_port)
    for c in (busy, idle):
        c.send(b'echo\n')
        assert c.echo(b'x')[0] == b'x'
    idle.shutdown_write()
    assert idle.read_to_end() == b''
    assert established(cloud_port) == 2

    cloud.signal(signal.SIGTERM)
    wait_for(lambda: established(cloud_port) == 1, PROMPT, what='the idle tunnel to close')
    assert busy.echo(b'still served')[0] == b'still served'
    refused = Client(edge_port)            # a new stream in the tunnel that is still open
    refused.send(b'echo\n')
    assert refused.closed_within(PROMPT)
    assert len(backend.conns) == 2         # refused by the draining cloud, before any backend connection
    assert busy.echo(b'still served')[0] == b'still served'

    busy.shutdown_write()
    assert busy.read_to_end() == b''
    t0 = time.monotonic()
    assert cloud.wait(PROMPT) == 0
    assert time.monotonic() - t0 < PROMPT


# ------------------------------------------------------------------------------------------------------- liveness

def test_a_silent_cloud_is_given_up_and_its_streams_closed(run_pipyx, peers):
    hole = peers.serve(black_hole)         # accepts the tunnel, never says anything
    edge_port = free_port()
    edge = run_pipyx(script(edge_script(edge_port, hole.port, 'ping_interval=0.5')), port=edge_port, args=FAST_STOP)
    clients = [Client(edge_port) for _ in range(3)]
    for c in clients:
        c.send(b'hello?')
    for c in clients:                      # two ping intervals of silence, and a little more
        assert c.closed_within(3.0), 'a stream in a dead tunnel was left open'
    wait_log(edge, 'no answer to PING for 0.5s; closing it')
    wait_for(lambda: not established(hole.port), PROMPT, what='the edge to close the dead tunnel connection')


def test_pings_keep_an_idle_healthy_tunnel(run_pipyx, peers):
    t, backend = open_tunnel(run_pipyx, peers, 'max_sessions=1, ping_interval=0.3', 'ping_interval=0.3')
    c = t.client(b'echo')
    assert c.echo(b'one')[0] == b'one'
    time.sleep(1.5)                        # five ping intervals of silence from the client and the backend
    assert c.echo(b'two')[0] == b'two'
    assert 'PING' not in t.edge.log() and 'PING' not in t.cloud.log()
    c.close()


def test_the_cloud_gives_up_a_silent_edge_and_closes_its_backend_connections(run_pipyx, peers):
    backend = peers.serve(by_role)
    cloud_port = free_port()
    cloud = run_pipyx(script(cloud_script(cloud_port, backend.port, 'ping_interval=0.5')), port=cloud_port,
                      args=FAST_STOP)
    edge = Client(cloud_port)              # a connecting side that opens a channel, then never says anything again
    edge.send(HELLO + tunnel_frame(1, 1) + tunnel_frame(2, 1, b'echo\n'))
    conn = backend.find(b'echo')
    assert conn.ended.wait(4.0), 'the backend connection of a dead tunnel was left open'
    wait_log(cloud, 'no answer to PING')
    assert edge.ends_within(PROMPT)


# -------------------------------------------------------------------------------------------------------- bad peers

GARBAGE = [
    (b'GET / HTTP/1.1\r\nHost: cloud\r\n\r\n', 'unknown frame type 71'),
    (tunnel_frame(0, 0, b'pipyx-tunnel/9'), "unsupported tunnel version b'pipyx-tunnel/9'"),
    (tunnel_frame(1, 1), 'the peer is not a pipyx tunnel (no HELLO)'),
    (HELLO + tunnel_frame(2, 0, b'data'), 'DATA on channel 0'),
    (HELLO + tunnel_frame(1, 1, b'x' * 5000), 'control frame of 5000 bytes'),
    (HELLO + tunnel_frame(1, 1) + tunnel_frame(1, 1), 'OPEN of channel 1, which is in use'),
    (HELLO + tunnel_frame(1, 1) + tunnel_frame(5, 1, b'abc'), 'WINDOW frame of 3 bytes'),
]


def test_garbage_at_the_cloud_closes_that_connection_only(run_pipyx, peers):
    t, backend = open_tunnel(run_pipyx, peers, 'max_sessions=1')
    c = t.client(b'echo')
    assert c.echo(b'tunnel up')[0] == b'tunnel up'
    for garbage, complaint in GARBAGE:
        bad = Client(t.cloud_port)
        bad.send(garbage)
        assert bad.ends_within(PROMPT), 'the cloud kept a connection that sent %r' % garbage[:40]
        bad.close()
        assert 'protocol error: ' + complaint in wait_log(t.cloud, complaint)
    assert c.echo(b'still up')[0] == b'still up'
    fresh = t.client(b'echo')
    assert fresh.echo(b'new stream')[0] == b'new stream'
    assert t.cloud.proc.poll() is None


def test_nothing_after_a_protocol_error_is_acted_on_even_in_the_same_read(run_pipyx, peers):
    # The second OPEN of channel 1 closes the tunnel; the OPEN and DATA of channel 3 arrive in the same write and
    # must not start a stream to the backend on a tunnel that is gone.
    backend = peers.serve(echo)
    cloud_port = free_port()
    cloud = run_pipyx(script(cloud_script(cloud_port, backend.port)), port=cloud_port, args=FAST_STOP)
    bad = Client(cloud_port)
    bad.send(HELLO + tunnel_frame(1, 1) + tunnel_frame(1, 1) + tunnel_frame(1, 3) + tunnel_frame(2, 3, b'after-error'))
    assert bad.ends_within(PROMPT)
    wait_log(cloud, 'OPEN of channel 1, which is in use')
    time.sleep(0.5)
    assert not [c for c in backend.conns if c.head.startswith(b'after-error')]


def test_an_edge_pointed_at_something_else_closes_its_clients(run_pipyx, peers):
    wrong_peers = [
        (peers.serve(echo), 'OPEN sent to the opening side'),                       # our own frames come back
        (peers.serve(speaks_first(b'SSH-2.0-OpenSSH_9.2\r\n')), 'unknown frame type 83'),
        (peers.serve(speaks_first(tunnel_frame(0, 0, b'pipyx-tunnel/2'))), 'unsupported tunnel version'),
    ]
    ports = [free_port() for _ in wrong_peers]
    edge = run_pipyx(script(*(edge_script(port, peer.port) for port, (peer, _) in zip(ports, wrong_peers))),
                     port=ports[-1], args=FAST_STOP)
    for port, (peer, complaint) in zip(ports, wrong_peers):
        c = Client(port)
        c.send(b'hello')
        assert c.closed_within(PROMPT), 'an edge tunnelling to %s left its client open' % complaint
        wait_log(edge, 'protocol error: ' + complaint)
    assert edge.proc.poll() is None


# ------------------------------------------------------------------------------------------------------- the limits

def test_max_streams_refuses_a_stream_beyond_the_limit_and_frees_the_slot_when_one_ends(run_pipyx, peers):
    t, backend = open_tunnel(run_pipyx, peers, 'max_sessions=1, max_streams=2')
    first, second = t.client(b'echo'), t.client(b'echo')
    for c in (first, second):
        assert c.echo(b'in')[0] == b'in'
    third = t.client(b'echo')
    assert third.closed_within(PROMPT)
    wait_log(t.edge, 'every tunnel session is full (max_sessions=1, max_streams=2)')
    for c in (first, second):
        assert c.echo(b'still in')[0] == b'still in'

    first.shutdown_write()                 # the echo backend closes after the client's end: the stream is over
    assert first.read_to_end() == b''
    fourth = t.client(b'echo')
    assert fourth.echo(b'my turn')[0] == b'my turn'
    assert t.tunnels() == 1


def test_a_channel_is_released_however_its_stream_ends(run_pipyx, peers):
    """With room for two streams and one held open, each new stream needs the slot the previous one left: a channel
    that was never released would lock every later stream out."""
    t, backend = open_tunnel(run_pipyx, peers, 'max_sessions=1, max_streams=2')
    held = t.client(b'echo held')
    assert held.echo(b'here')[0] == b'here'

    def take_the_slot(name):
        deadline = time.monotonic() + PROMPT          # the previous stream's end may still be on its way
        while True:
            c = t.client(b'echo ' + name)
            try:
                assert c.echo(b'in')[0] == b'in'
                return c
            except (EOFError, ConnectionError):
                c.close()
                assert time.monotonic() < deadline, 'the slot of an ended stream was never released'
                time.sleep(0.05)

    for n in range(5):
        c = take_the_slot(b'finishes %d' % n)          # the client finishes, then the backend
        c.shutdown_write()
        assert c.read_to_end() == b''
        c = take_the_slot(b'aborts %d' % n)            # the client resets its connection
        c.abort()
        c = take_the_slot(b'dropped %d' % n)           # the backend closes first
        backend.close_conn(backend.find(b'echo dropped %d' % n))
        assert c.closed_within(PROMPT)
        c.close()
    assert held.echo(b'still here')[0] == b'still here'
    assert t.tunnels() == 1


def test_demux_max_streams_refuses_a_channel_beyond_the_limit(run_pipyx, peers):
    t, backend = open_tunnel(run_pipyx, peers, 'max_sessions=1', 'max_streams=2')
    first, second = t.client(b'echo'), t.client(b'echo')
    for c in (first, second):
        assert c.echo(b'in')[0] == b'in'
    third = t.client(b'echo')
    assert third.closed_within(PROMPT)
    for c in (first, second):
        assert c.echo(b'still in')[0] == b'still in'
    assert len(backend.conns) == 2


@pytest.mark.parametrize('call, message', [('connect_tunnel(window=1000)', 'window must be at least 65536 bytes'),
                                           ('accept_tunnel(window=1 << 40)', 'window must be below 2 GiB')])
def test_a_window_out_of_range_is_a_load_error_naming_the_line(run_pipyx, call, message):
    p = run_pipyx(script("pipy().listen('127.0.0.1:%d').%s.to(lambda p: p.connect('127.0.0.1:1'))\n"
                         % (free_port(), call)))
    assert p.wait(10) == 1
    assert 'main-0.py:3: ValueError: ' + message in p.log()


@pytest.mark.parametrize('side', ['connect_tunnel', 'accept_tunnel'])
def test_a_bigger_window_carries_a_stream_of_several_windows(run_pipyx, peers, side):
    window = 'window=%d' % (1 << 20)
    t, backend = open_tunnel(run_pipyx, peers, 'max_sessions=1' + (', ' + window if side == 'connect_tunnel' else ''),
                             window if side == 'accept_tunnel' else '')
    c = t.client(b'echo', timeout=2)
    data = pattern(5, 4 << 20)
    pusher = Pusher(c, 5, len(data))
    pusher.start()
    assert c.recv_exact(len(data)) == data
