"""Client connections: the listener's idle_timeout, clients that leave at once, and a thousand idle ones; pipyx as a
real process on 127.0.0.1 in front of test/helpers/backend_app.py, with its sockets and RSS read from /proc.
"""
import json
import os
import resource
import socket
import time

import pytest

from test.helpers import (FAST_STOP, PROXY, RELAY, RawClient, closed_within, free_port, json_of, no_traceback, open_fds,
                          req, simple_request, vm_rss_kb)


# ----------------------------------------------------------------------------------------------- listen idle_timeout

LISTEN_IDLE = '''
from pipyx import pipy, Message
pipy().listen('127.0.0.1:%(plain)d', idle_timeout=0.5).serve_http(Message('ok'))
pipy().listen('127.0.0.1:%(proxy)d', idle_timeout=0.5).demux_http().to(
    lambda p: p.mux_http().to(lambda p: p.connect('127.0.0.1:%(backend)d')))
'''


@pytest.fixture
def listen_idle(run_pipyx, backend):
    ports = {'plain': free_port(), 'proxy': free_port(), 'backend': backend}
    p = run_pipyx(LISTEN_IDLE % ports, args=FAST_STOP)
    p.wait_ready(ports['plain'])
    p.wait_ready(ports['proxy'])
    ports['proc'] = p
    return ports


def test_listen_idle_timeout_closes_idle_connection(listen_idle):
    s = socket.create_connection(('127.0.0.1', listen_idle['plain']), timeout=5)
    try:
        took = closed_within(s, 3.0)
    finally:
        s.close()
    print('listen idle_timeout=0.5: a connection that never sent a byte closed after %s s' % took)
    assert took is not None, 'an idle connection is still open after 3 s'
    assert 0.4 <= took <= 1.5, took


def test_listen_idle_timeout_after_a_request(listen_idle):
    with RawClient(listen_idle['plain']) as c:
        c.send(req('/'))
        assert c.read_response().body == b'ok'
        took = closed_within(c.sock, 3.0)
    assert took is not None and 0.3 <= took <= 1.5, took


def test_listen_idle_timeout_spares_active_connection(listen_idle):
    with RawClient(listen_idle['plain']) as c:
        t_end = time.monotonic() + 2.0
        n = 0
        while time.monotonic() < t_end:
            c.send(req('/'))
            r = c.read_response()
            assert r.status == 200 and r.body == b'ok', r
            n += 1
            time.sleep(0.2)
        assert n >= 8
        c.send(req('/'))                                         # still open after 2 s
        assert c.read_response().body == b'ok'


def test_listen_idle_timeout_spares_connection_receiving_a_response(listen_idle):
    """Traffic to the client is traffic: a response streaming for 2 s must not be cut off after 0.5 s just because
    the client has nothing more to send."""
    with RawClient(listen_idle['proxy'], timeout=5) as c:
        t0 = time.monotonic()
        c.send(req('/drip/10/200'))
        try:
            r = c.read_response()
        except EOFError as e:
            raise AssertionError('connection closed %.2fs into a response that was still streaming: %s' % (
                time.monotonic() - t0, e))
        assert r.status == 200 and r.body == b''.join(b'drip-%d\n' % i for i in range(10))


# -------------------------------------------------------------------------------------------------- many connections

def open_files_limit(pid):
    with open('/proc/%d/limits' % pid) as f:
        for line in f:
            if line.startswith('Max open files'):
                soft = line.split()[3]
                return 1 << 30 if soft == 'unlimited' else int(soft)
    return 0


def test_relay_client_gone_before_sending_is_closed(run_pipyx, backend):
    """Clients that connect to a TCP relay and hang up without sending a byte (port scans, health checks) must not
    leave their connections open in pipyx."""
    port = free_port()
    p = run_pipyx(RELAY % {'port': port, 'backend': backend, 'connect_opts': ''}, port=port, args=FAST_STOP)
    time.sleep(0.2)
    base = open_fds(p.pid)
    for _ in range(20):
        socket.create_connection(('127.0.0.1', port), timeout=5).close()
    with RawClient(port) as c:             # answered only once pipyx has accepted the 20 before it: the relay works
        c.send(req('/conn', headers=[('Connection', 'close')]))
        assert json_of(c.read_response())['requests'] == 1
    deadline = time.monotonic() + 2
    while open_fds(p.pid) > base and time.monotonic() < deadline:
        time.sleep(0.05)
    assert open_fds(p.pid) <= base, '%d sockets more open in pipyx 2 s after 20 clients left without sending' % (
        open_fds(p.pid) - base)


def test_thousand_idle_connections(run_pipyx, backend):
    n = 1000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 200:
        if hard != resource.RLIM_INFINITY and hard < n + 200:
            pytest.skip('RLIMIT_NOFILE hard limit %d is too low for %d connections' % (hard, n))
        resource.setrlimit(resource.RLIMIT_NOFILE, (n + 1000 if hard == resource.RLIM_INFINITY
                                                    else min(hard, n + 1000), hard))
    port = free_port()
    p = run_pipyx(PROXY % {'port': port, 'backend': backend}, port=port, args=FAST_STOP)
    limit = open_files_limit(p.pid)
    if limit < 2 * n + 100:
        pytest.skip("pipyx's open files limit is %d: not enough for %d clients and their upstreams" % (limit, n))
    for _ in range(3):
        json_of(simple_request(port, '/conn'))
    time.sleep(0.2)
    base_fds = open_fds(p.pid)
    base = vm_rss_kb(p.pid)
    socks = []
    try:
        for _ in range(n):
            socks.append(socket.create_connection(('127.0.0.1', port), timeout=10))
        deadline = time.monotonic() + 10
        while open_fds(p.pid) < base_fds + n and time.monotonic() < deadline:
            time.sleep(0.05)
        assert open_fds(p.pid) >= base_fds + n, 'pipyx accepted %d of %d' % (open_fds(p.pid) - base_fds, n)
        time.sleep(0.3)
        idle = vm_rss_kb(p.pid)
        per_conn = (idle - base) * 1024.0 / n
        print('%d idle connections: pipyx RSS %.1f -> %.1f MB, %.0f bytes per idle connection' % (
            n, base / 1024.0, idle / 1024.0, per_conn))
        for i, s in enumerate(socks):
            s.sendall(req('/echo', 'POST', body=b'conn-%d' % i))
        bad = []
        conns = set()
        for i, s in enumerate(socks):
            c = RawClient.__new__(RawClient)
            c.sock, c.buf, c.timeout = s, b'', 10.0
            try:
                r = c.read_response()
                if r.status != 200 or json.loads(r.body)['body'] != 'conn-%d' % i:
                    bad.append((i, r.status, r.body[:100]))
            except Exception as e:  # noqa: BLE001 — reported below
                bad.append((i, repr(e)))
        assert not bad, (len(bad), bad[:5])
        for i, s in enumerate(socks):                                # a second round on the same connections
            s.sendall(req('/conn'))
        for i, s in enumerate(socks):
            c = RawClient.__new__(RawClient)
            c.sock, c.buf, c.timeout = s, b'', 10.0
            conns.add(json_of(c.read_response())['conn'])
        busy = vm_rss_kb(p.pid)
        print('after 2 requests on each: RSS %.1f MB, %d upstream connections' % (busy / 1024.0, len(conns)))
    finally:
        for s in socks:
            s.close()
    assert per_conn < 20 * 1024, '%.0f bytes of RSS per idle connection' % per_conn
    assert p.proc.poll() is None
    no_traceback(p.log())


def test_a_proxy_on_ip_addresses_runs_in_one_thread(run_pipyx, backend):
    # Resolving a listen or connect address in the event loop's thread pool would start four threads, and a process
    # with threads pays more in the kernel for every read and write. Addresses that are IPs are never resolved.
    port = free_port()
    p = run_pipyx(PROXY % {'port': port, 'backend': backend}, port=port)
    assert simple_request(port, '/').status == 404         # the backend's answer: proxied
    assert len(os.listdir('/proc/%d/task' % p.pid)) == 1
