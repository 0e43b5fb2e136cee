"""connect() given an algo balancer (issue 16, L4 balancing): round robin over TCP targets, least connections
counting the open relayed connections, consistent hashing by the client's address, a refused or black-holed target
skipped within the stream's retry_count, a callable choosing the balancer, and UDP targets per client address."""
import re
import socket

from test.filters.l4_targets import (BlackHole, NamedTcpTarget, NamedUdpTarget, ask_name, name_of,
                                     refused_address)
from test.helpers import FAST_STOP, free_port, no_traceback
from test.io.udp_peers import wait_udp

SCRIPT = '''
from pipyx import pipy, algo
balancer = algo.%(algo)s(%(targets)r)
pipy().listen(%(port)d%(listen)s).connect(%(target)s%(options)s)
'''


def balance(run_pipyx, targets, algo='RoundRobinLoadBalancer', options='', target='balancer', listen=''):
    port = free_port()
    p = run_pipyx(SCRIPT % {'algo': algo, 'targets': targets, 'port': port, 'options': options, 'target': target,
                            'listen': listen},
                  port=None if listen else port, args=FAST_STOP)
    return port, p


def closed_by_relay(s):
    """Half-closes a client socket and reads to its end: once the relay closes it, the upstream side is gone too."""
    s.shutdown(socket.SHUT_WR)
    s.settimeout(5)
    while s.recv(4096):
        pass
    s.close()


def named_targets(*names):
    return [NamedTcpTarget(n) for n in names]


def stop_all(targets):
    for t in targets:
        t.stop()


def test_round_robin_over_tcp_targets(run_pipyx):
    targets = named_targets('a', 'b', 'c')
    try:
        port, p = balance(run_pipyx, [t.address for t in targets])
        names = [name_of(port) for _ in range(6)]
        assert sorted(names) == ['a', 'a', 'b', 'b', 'c', 'c'], names
        assert names[:3] != names[3:4] * 3                     # taken in turn, not one target thrice
        no_traceback(p.log())
    finally:
        stop_all(targets)


def test_least_connections_counts_open_streams(run_pipyx):
    targets = named_targets('a', 'b')
    try:
        port, p = balance(run_pipyx, [t.address for t in targets], algo='LeastWorkLoadBalancer')
        first, s1 = ask_name(port)
        second, s2 = ask_name(port)
        assert {first, second} == {'a', 'b'}                   # one open connection each
        closed_by_relay(s1)                                    # first's target has none open now
        third, s3 = ask_name(port)
        assert third == first
        fourth, s4 = ask_name(port)                            # a: 1, b: 1 -> either; then both have two
        fifth, s5 = ask_name(port)
        assert {fourth, fifth} == {'a', 'b'}
        for s in (s2, s3, s4, s5):
            s.close()
    finally:
        stop_all(targets)


def test_hashing_keeps_a_client_address_on_one_target(run_pipyx):
    targets = named_targets('a', 'b', 'c')
    try:
        port, p = balance(run_pipyx, [t.address for t in targets], algo='HashingLoadBalancer')
        chosen = {}
        for i in range(2, 14):
            source = '127.0.0.%d' % i
            names = {name_of(port, source) for _ in range(3)}
            assert len(names) == 1, (source, names)            # the same client, the same target
            chosen[source] = names.pop()
        assert len(set(chosen.values())) > 1, chosen           # and different clients spread out
    finally:
        stop_all(targets)


def test_a_refused_target_moves_to_the_next_within_retry_count(run_pipyx):
    targets = named_targets('a', 'b')
    try:
        port, p = balance(run_pipyx, [refused_address(), targets[0].address, targets[1].address],
                          options=', retry_count=1, retry_delay=5')
        import time
        t0 = time.monotonic()
        names = [name_of(port) for _ in range(6)]
        assert sorted(names) == ['a', 'a', 'a', 'b', 'b', 'b'], names
        assert time.monotonic() - t0 < 4                       # another target at once: retry_delay is not waited
        assert 'ConnectionRefused, retrying (1) with 127.0.0.1:' in p.log()
    finally:
        stop_all(targets)


def test_without_retries_a_refused_target_ends_the_stream(run_pipyx):
    targets = named_targets('a')
    try:
        port, p = balance(run_pipyx, [refused_address(), targets[0].address])
        names = [name_of(port) for _ in range(4)]
        assert sorted(names) == ['', '', 'a', 'a'], names     # retry_count=0: each stream has one attempt
    finally:
        stop_all(targets)


def test_a_black_holed_target_times_out_and_the_next_one_serves(run_pipyx):
    hole = BlackHole()
    targets = named_targets('a')
    try:
        port, p = balance(run_pipyx, [hole.address, targets[0].address],
                          options=', retry_count=1, connect_timeout=0.3')
        names = [name_of(port) for _ in range(4)]
        assert names == ['a'] * 4, names
        assert 'ConnectionTimeout (no connection within 0.3s), retrying (1) with %s' % targets[0].address in p.log()
    finally:
        hole.stop()
        stop_all(targets)


def test_when_every_target_fails_retries_start_over_after_retry_delay(run_pipyx):
    refused = [refused_address(), refused_address()]
    port, p = balance(run_pipyx, refused, options=', retry_count=3, retry_delay=0.1')
    assert name_of(port) == ''
    log = p.log()
    assert log.count('retrying') == 3                        # a, b, (retry_delay) a, b: four attempts, one stream
    assert log.count('retrying (1) with') == 1 and log.count('retrying (3) with') == 1
    assert len(re.findall(r'ConnectionRefused$', log, re.M)) == 1


def test_a_callable_target_may_choose_the_balancer(run_pipyx):
    targets = named_targets('a', 'b', 'c')
    try:
        script = '''
from pipyx import pipy, algo, ctx
left = algo.RoundRobinLoadBalancer([%r])
right = algo.RoundRobinLoadBalancer([%r, %r])
pipy().listen(%d).connect(lambda: left if ctx.inbound.remote_address == '127.0.0.2' else right)
'''
        port = free_port()
        run_pipyx(script % (targets[0].address, targets[1].address, targets[2].address, port), port=port)
        assert {name_of(port, '127.0.0.2') for _ in range(3)} == {'a'}
        assert sorted(name_of(port) for _ in range(4)) == ['b', 'b', 'c', 'c']
    finally:
        stop_all(targets)


def test_udp_targets_one_per_client_address(run_pipyx):
    targets = [NamedUdpTarget('x'), NamedUdpTarget('y')]
    try:
        port, p = balance(run_pipyx, [t.address for t in targets], options=", protocol='udp'",
                          listen=", protocol='udp'")
        wait_udp(port, data=b'hello')
        socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(4)]
        try:
            names = []
            for s in socks:
                s.settimeout(2)
                s.sendto(b'hi', ('127.0.0.1', port))
                names.append(s.recvfrom(100)[0].decode())
            assert sorted(names) == ['x', 'x', 'y', 'y'], names
            for s, name in zip(socks, names):                  # a client keeps its target
                s.sendto(b'again', ('127.0.0.1', port))
                assert s.recvfrom(100)[0].decode() == name
        finally:
            for s in socks:
                s.close()
    finally:
        stop_all(targets)
