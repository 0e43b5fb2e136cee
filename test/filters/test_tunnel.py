"""connect_tunnel and accept_tunnel end to end, carrying streams: real pipyx edge and cloud processes, real clients and backends, on
127.0.0.1. Faults (lost tunnels, silent and bad peers, limits) are in test_tunnel_faults.py.

    clients --> edge: listen().connect_tunnel(...).to(connect(cloud)) ==tunnels==> cloud: listen().accept_tunnel().to(connect(backend))
"""
import hashlib
import os
import random
import socket
import threading
import time


from test.filters.tunnel_peers import FIREHOSE_BYTES, TIMEOUT, by_role, echo, pattern, peers, speaks_first
from test.filters.tunnel_support import (HELLO, PROMPT, Client, Pusher, Tunnel, cloud_script, edge_script, open_tunnel,
                                         read_frame, rss, script, tunnel_frame, wait_log)
from test.helpers import FAST_STOP, free_port, wait_for

assert peers                               # a fixture, used by name


# ------------------------------------------------------------------------------------------ many streams, few tunnels

def test_many_streams_share_at_most_k_tunnels_and_each_gets_its_own_bytes(run_pipyx, peers):
    t, backend = open_tunnel(run_pipyx, peers, 'max_sessions=3', handler=echo)
    rng = random.Random(1)
    clients = []
    try:
        # Tunnels are opened as streams arrive, up to max_sessions.
        for expected_tunnels in (1, 2):
            c = t.client()
            clients.append(c)
            assert c.echo(b'warm-up %d' % len(clients))[0] == b'warm-up %d' % len(clients)
            assert t.tunnels() == expected_tunnels
        clients += [t.client() for _ in range(298)]

        # Every client sends four pieces of its own bytes, the clients' pieces interleaved.
        sent = [bytearray() for _ in clients]
        for r in range(4):
            for i, c in enumerate(clients):
                piece = b'<%d.%d>' % (i, r) + os.urandom(rng.randrange(1, 3000))
                sent[i] += piece
                c.send(piece)
        for i, c in enumerate(clients):
            assert c.recv_exact(len(sent[i])) == bytes(sent[i]), 'client %d got bytes that are not its own' % i

        # 300 streams, 3 tunnel connections at the cloud, and still one backend connection per stream.
        assert t.tunnels() == 3
        assert len(backend.conns) == 300
        assert t.edge.proc.poll() is None and t.cloud.proc.poll() is None
    finally:
        for c in clients:
            c.close()
    # The clients' ends reach every backend connection; the tunnels stay for the next streams.
    wait_for(lambda: all(c.ended.is_set() for c in backend.conns), TIMEOUT, what='every backend connection to end')
    assert t.tunnels() == 3


# ---------------------------------------------------------------------------------------------------- big transfers

def test_large_transfers_both_ways_on_several_channels_at_once_arrive_intact(run_pipyx, peers):
    t, backend = open_tunnel(run_pipyx, peers, 'max_sessions=1')
    sizes = [20 << 20, 8 << 20, 8 << 20, 3 << 20]
    clients = [t.client(b'echo', timeout=20) for _ in sizes]
    pushers = [Pusher(c, seed, n) for seed, (c, n) in enumerate(zip(clients, sizes))]
    results = [None] * len(clients)

    def read_back(i):
        h, n = hashlib.sha256(), 0
        sock = clients[i].sock
        while True:
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            h.update(chunk)
            n += len(chunk)
        results[i] = (n, h.hexdigest())

    readers = [threading.Thread(target=read_back, args=(i,), daemon=True) for i in range(len(clients))]
    for th in pushers + readers:
        th.start()
    for th in pushers + readers:
        th.join(25)
    for i, p in enumerate(pushers):
        assert p.error is None, p.error
        assert results[i] == (sizes[i], p.digest.hexdigest()), 'stream %d came back damaged' % i
    assert t.tunnels() == 1
    for c in clients:
        c.close()


# --------------------------------------------------------------------------------------------------- flow control

def echo_round_trips(clients, seconds, size=16384):
    """Echoes on every client for `seconds`; returns the slowest round trip."""
    slowest, deadline = 0.0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        for c in clients:
            data = os.urandom(size)
            back, took = c.echo(data)
            assert back == data
            slowest = max(slowest, took)
    return slowest


def test_a_backend_that_does_not_read_stalls_only_its_own_channel(run_pipyx, peers):
    t, backend = open_tunnel(run_pipyx, peers, 'max_sessions=1, ping_interval=0.5', 'ping_interval=0.5')
    others = [t.client(b'echo') for _ in range(2)]
    for c in others:                       # warm up both processes with a few megabytes of traffic
        c.echo(os.urandom(2 << 20))
    before = rss(t.edge, t.cloud)

    slow = t.client(b'sink', timeout=30)
    pusher = Pusher(slow, 1, 50 << 20)
    pusher.start()
    outstanding = pusher.plateau()
    sink = backend.find(b'sink')
    assert sink.received == 0
    assert outstanding >= 1 << 20, 'the stalled stream should have megabytes in flight'
    assert outstanding < 40 << 20, 'nothing held the sender back: %d bytes taken' % outstanding

    slowest = echo_round_trips(others, 1.0)
    assert slowest < 0.5, 'a stalled channel held up the others in the same tunnel (%.2fs)' % slowest
    growth = [a - b for a, b in zip(rss(t.edge, t.cloud), before)]
    assert max(growth) < 8 * 1024, 'edge and cloud RSS grew by %s KiB while a channel was stalled' % growth
    assert t.tunnels() == 1
    assert 'PING' not in t.edge.log() + t.cloud.log()      # a stalled channel is no dead tunnel

    # Once the backend reads, all of it arrives.
    backend.open_gate()
    assert pusher.done.wait(30) and pusher.error is None, pusher.error
    assert sink.ended.wait(10)
    assert (sink.received, sink.digest.hexdigest()) == (50 << 20, pusher.digest.hexdigest())


def test_a_client_that_does_not_read_stalls_only_its_own_channel(run_pipyx, peers):
    t, backend = open_tunnel(run_pipyx, peers, 'max_sessions=1')
    others = [t.client(b'echo') for _ in range(2)]
    for c in others:
        c.echo(os.urandom(2 << 20))
    before = rss(t.edge, t.cloud)

    lazy = t.client(b'firehose', timeout=30, rcvbuf=65536)
    hose = backend.find(b'firehose')
    last = [-1, time.monotonic()]

    def plateau():
        if hose.sent != last[0]:
            last[:] = [hose.sent, time.monotonic()]
        return time.monotonic() - last[1] > 0.4
    wait_for(plateau, 10, what="the backend's writes to stop")
    assert 1 << 20 <= hose.sent < 40 << 20, hose.sent

    slowest = echo_round_trips(others, 1.0)
    assert slowest < 0.5, 'a client that does not read held up the others in the same tunnel (%.2fs)' % slowest
    growth = [a - b for a, b in zip(rss(t.edge, t.cloud), before)]
    assert max(growth) < 8 * 1024, 'edge and cloud RSS grew by %s KiB while a channel was stalled' % growth

    got = lazy.read_to_end(timeout=30)
    assert len(got) == FIREHOSE_BYTES and got == pattern(7, 1 << 20) * (FIREHOSE_BYTES >> 20)


def test_a_cloud_that_answers_by_itself_holds_back_a_client_that_does_not_read(run_pipyx, peers):
    cloud_port, edge_port = free_port(), free_port()
    cloud = run_pipyx(script("pipy().listen('127.0.0.1:%d', idle_timeout=0).accept_tunnel().to(\n"
                             "    lambda p: p.replace_data(lambda d: d))\n" % cloud_port),      # an echo in the cloud
                      port=cloud_port, args=FAST_STOP)
    edge = run_pipyx(script(edge_script(edge_port, cloud_port, 'max_sessions=1')), port=edge_port, args=FAST_STOP)
    warm = Client(edge_port)
    warm.echo(os.urandom(1 << 20))
    before = rss(edge, cloud)
    lazy = Client(edge_port, timeout=30, rcvbuf=65536)
    pusher = Pusher(lazy, 2, 40 << 20)
    pusher.start()
    outstanding = pusher.plateau()
    growth = [a - b for a, b in zip(rss(edge, cloud), before)]
    assert outstanding < 30 << 20 and max(growth) < 8 * 1024, (
        'a client that does not read pushed %d bytes; edge and cloud RSS grew by %s KiB' % (outstanding, growth))
    assert warm.echo(b'unaffected')[0] == b'unaffected'

    # Once the client reads, it gets back all it sent, and the end after it.
    echoed = hashlib.sha256()
    n = 0
    while True:
        chunk = lazy.sock.recv(1 << 20)
        if not chunk:
            break
        echoed.update(chunk)
        n += len(chunk)
    assert pusher.done.wait(10) and pusher.error is None, pusher.error
    assert (n, echoed.hexdigest()) == (40 << 20, pusher.digest.hexdigest())


# ------------------------------------------------------------------------------------------------- ends of streams

def test_half_close_the_client_still_gets_the_answer_sent_after_its_end(run_pipyx, peers):
    t, backend = open_tunnel(run_pipyx, peers, 'max_sessions=1')
    c = t.client(b'answer', timeout=10)
    body = pattern(3, 1 << 20)
    c.send(body)
    c.shutdown_write()
    answer = c.read_to_end()
    assert answer[:32] == hashlib.sha256(body).digest()
    assert answer[32:] == pattern(9, 3 << 20)


def test_a_client_that_sends_and_closes_at_once_delivers_everything(run_pipyx, peers):
    t, backend = open_tunnel(run_pipyx, peers, 'max_sessions=1')
    backend.open_gate()
    c = t.client(b'sink')
    body = pattern(4, 5 << 20)
    c.send(body)
    c.close()
    sink = backend.find(b'sink')
    assert sink.ended.wait(10)
    assert (sink.received, sink.digest.digest()) == (len(body), hashlib.sha256(body).digest())


def test_ends_travel_both_ways_and_only_for_their_own_stream(run_pipyx, peers):
    t, backend = open_tunnel(run_pipyx, peers, 'max_sessions=1')
    a, b, c = (t.client(b'echo ' + name) for name in (b'a', b'b', b'c'))
    for x in (a, b, c):
        assert x.echo(b'ping')[0] == b'ping'

    # The backend closes b's connection: b's client connection closes, a and c go on.
    backend.close_conn(backend.find(b'echo b'))
    assert b.closed_within(PROMPT)
    for x in (a, c):
        assert x.echo(b'still here')[0] == b'still here'

    # Client a crashes (reset): the backend sees a's connection end, and only a's.
    conn_a, conn_c = backend.find(b'echo a'), backend.find(b'echo c')
    a.abort()
    assert conn_a.ended.wait(PROMPT)
    assert not conn_c.ended.is_set()
    assert c.echo(b'and still')[0] == b'and still'
    c.close()


def test_a_backend_that_refuses_closes_the_client_promptly(run_pipyx, peers):
    refused = free_port()                  # nothing listens there
    t = Tunnel(run_pipyx, refused, 'max_sessions=1')
    for _ in range(3):
        c = t.client()
        c.send(b'anyone there?')
        assert c.closed_within(PROMPT)
    assert t.tunnels() == 1                # the tunnel itself stays


# --------------------------------------------------------------------------------------------- what the cloud sees

def test_the_cloud_sees_the_original_client_address_in_ctx_inbound(run_pipyx, peers):
    backend = peers.serve(echo)
    cloud_port, edge_port = free_port(), free_port()
    run_pipyx(script('''
def announce(first):
    i = ctx.inbound
    return ['%s %d %s %d\\n' % (i.remote_address, i.remote_port, i.local_address, i.local_port), first]

pipy().listen('127.0.0.1:{cloud}', idle_timeout=0).accept_tunnel().to(
    lambda p: p.replace_stream_start(announce).connect('127.0.0.1:{backend}'))
'''.format(cloud=cloud_port, backend=backend.port)), port=cloud_port, args=FAST_STOP)
    run_pipyx(script(edge_script(edge_port, cloud_port, 'max_sessions=1')), port=edge_port, args=FAST_STOP)
    clients = [Client(edge_port) for _ in range(3)]
    for c in clients:
        c.send(b'hello')
    for c in clients:
        line = c.sock.makefile('rb').readline()
        host, port = c.address
        assert line.split() == [host.encode(), b'%d' % port, b'127.0.0.1', b'%d' % edge_port]
        c.close()
    # The backend got the announcement and then the client's bytes.
    wait_for(lambda: sorted(conn.head.split(b'\n', 1)[1] for conn in backend.conns) == [b'hello'] * 3, TIMEOUT,
             what='the backend to get the announcements and the bytes')


# ----------------------------------------------------------------------------------------------------- the framing

def test_a_tunnel_whose_frames_arrive_a_byte_at_a_time_works_as_documented(run_pipyx, peers):
    """A hand-made connecting side talks to the cloud in frames as docs/tunnel.md describes them, one byte per write."""
    backend = peers.serve(by_role)
    cloud_port = free_port()
    run_pipyx(script(cloud_script(cloud_port, backend.port)), port=cloud_port, args=FAST_STOP)
    edge = Client(cloud_port)
    edge.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    frames = (HELLO + tunnel_frame(1, 5, b'10.1.2.3 40000 10.0.0.1 1883') + tunnel_frame(2, 5, b'echo\nhello')
              + tunnel_frame(6, 0, b'are you there'))
    for i in range(len(frames)):
        edge.send(frames[i:i + 1])
        time.sleep(0.001)
    assert read_frame(edge.sock) == (0, 0, b'pipyx-tunnel/1')
    echoed, pong = b'', None
    while echoed != b'hello' or pong is None:     # the echo (DATA may come in pieces), and the PONG
        ftype, channel, payload = read_frame(edge.sock)
        if ftype == 2:
            assert channel == 5
            echoed += payload
        else:
            assert (ftype, channel) == (7, 0)
            pong = payload
    assert pong == b'are you there'

    # The backend saw one connection, with the stream's bytes; our END reaches it as an end of input, and its
    # close comes back as END on the channel.
    conn = backend.find(b'echo')
    edge.send(tunnel_frame(3, 5))
    assert conn.ended.wait(PROMPT)
    assert read_frame(edge.sock) == (3, 5, b'')
    edge.close()


# ------------------------------------------------------------------------------------ what the cloud's scripts see

END_LOGGING_CLOUD = '''
def ended(end):
    print('channel from port %d ended: %s' % (ctx.inbound.remote_port, end.error))

pipy().listen('127.0.0.1:{cloud}', idle_timeout=0).accept_tunnel().to(
    lambda p: p.handle_stream_end(ended).connect('127.0.0.1:{backend}', read_timeout=0, idle_timeout=0))
'''


def end_logging_tunnel(run_pipyx, peers, via_relay=False):
    backend = peers.serve(by_role)
    cloud_port, edge_port = free_port(), free_port()
    cloud = run_pipyx(script(END_LOGGING_CLOUD.format(cloud=cloud_port, backend=backend.port)), port=cloud_port,
                      args=FAST_STOP)
    relay = peers.relay(cloud_port) if via_relay else None
    run_pipyx(script(edge_script(edge_port, relay.port if relay else cloud_port, 'max_sessions=1')), port=edge_port,
              args=FAST_STOP)
    return cloud, relay, edge_port


def test_the_cloud_script_sees_the_normal_end_of_a_stream(run_pipyx, peers):
    cloud, _, edge_port = end_logging_tunnel(run_pipyx, peers)
    c = Client(edge_port)
    c.send(b'echo\n')
    c.shutdown_write()
    assert c.read_to_end() == b''
    wait_log(cloud, 'channel from port %d ended: None' % c.address[1])


def test_the_cloud_script_sees_the_abort_of_a_stream(run_pipyx, peers):
    cloud, _, edge_port = end_logging_tunnel(run_pipyx, peers)
    c = Client(edge_port)
    c.send(b'echo\n')
    assert c.echo(b'x')[0] == b'x'
    port = c.address[1]
    c.abort()
    wait_log(cloud, 'channel from port %d ended: ConnectionReset' % port, timeout=PROMPT)


def test_the_cloud_script_sees_the_streams_of_a_lost_tunnel_end(run_pipyx, peers):
    cloud, relay, edge_port = end_logging_tunnel(run_pipyx, peers, via_relay=True)
    c = Client(edge_port)
    c.send(b'echo\n')
    assert c.echo(b'x')[0] == b'x'
    relay.abort()
    assert c.closed_within(PROMPT)
    wait_log(cloud, 'channel from port %d ended: ConnectionReset' % c.address[1], timeout=PROMPT)


# ------------------------------------------------------------------------------------------- servers that speak first

def test_a_server_that_speaks_first_is_heard_through_the_tunnel_and_through_connect(run_pipyx, peers):
    # SMTP, MySQL, SSH...: the server greets before the client says anything. The channel (and the cloud's
    # connection to the server) must open when the client connects, not when it first sends.
    backend = peers.serve(speaks_first(b'220 ready\r\n'))
    cloud_port, edge_port, direct_port = free_port(), free_port(), free_port()
    run_pipyx(script(cloud_script(cloud_port, backend.port)), port=cloud_port, args=FAST_STOP)
    run_pipyx(script(edge_script(edge_port, cloud_port)), port=edge_port, args=FAST_STOP)
    run_pipyx(script("pipy().listen('127.0.0.1:%d').connect('127.0.0.1:%d')\n" % (direct_port, backend.port)),
              port=direct_port, args=FAST_STOP)
    for port in (edge_port, direct_port):
        c = Client(port)
        assert c.recv_exact(len(b'220 ready\r\n'), timeout=PROMPT) == b'220 ready\r\n'
        c.close()
