"""listen()'s options from Pipy against a running pipyx: max_connections pausing accepts (plain and TLS),
read_timeout and write_timeout, buffer_limit, keep_alive seen on the accepted sockets, a bad value refused at load,
and transparent behind an iptables REDIRECT inside a network namespace the test makes."""
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid

import pytest

from test.helpers import ROOT, closed_within, free_port, missing_peer, wait_for


def echo(port, options):
    return 'from pipyx import pipy\npipy().listen(%d, %s)\n' % (port, options)


def connect(port):
    return socket.create_connection(('127.0.0.1', port), timeout=5)


def echoes(sock, payload, wait):
    sock.sendall(payload)
    sock.settimeout(wait)
    try:
        return sock.recv(len(payload) + 10) == payload
    except socket.timeout:
        return False


def test_max_connections_pauses_accepting_until_one_closes(run_pipyx):
    port = free_port()
    run_pipyx(echo(port, 'max_connections=2'), port=port)
    a, b = connect(port), connect(port)
    c = connect(port)                               # the kernel completes it; pipyx does not accept it yet
    try:
        assert echoes(a, b'a', 2) and echoes(b, b'b', 2)
        assert not echoes(c, b'c', 0.5), 'a third connection was served with max_connections=2'
        a.close()
        c.settimeout(3)
        assert c.recv(10) == b'c'                   # accepted once a connection closed, and what it sent was kept
        d = connect(port)
        assert not echoes(d, b'd', 0.3)             # at the limit again
        b.close()
        d.settimeout(3)
        assert d.recv(10) == b'd'
        d.close()
    finally:
        for s in (a, b, c):
            s.close()


def test_max_connections_on_a_tls_port(run_pipyx, certs):
    import ssl
    port = free_port()
    run_pipyx('''
import ssl
from pipyx import pipy
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(%r, %r)
pipy().listen('127.0.0.1:%d', ssl=ctx, max_connections=1)
''' % (certs['cert'], certs['key'], port), port=port)
    context = ssl.create_default_context(cafile=certs['ca'])
    first = context.wrap_socket(connect(port), server_hostname='127.0.0.1')
    try:
        assert echoes(first, b'tls', 2)
        second = connect(port)                      # not accepted: its handshake waits
        second.settimeout(0.5)
        with pytest.raises(socket.timeout):
            context.wrap_socket(second, server_hostname='127.0.0.1')
        second.close()
        first.close()
        third = context.wrap_socket(connect(port), server_hostname='127.0.0.1')
        assert echoes(third, b'again', 3)
        third.close()
    finally:
        first.close()


def test_read_timeout_closes_a_silent_client(run_pipyx):
    port = free_port()
    run_pipyx(echo(port, 'read_timeout=0.5'), port=port)
    with connect(port) as talker:
        for _ in range(6):                          # a client that keeps sending is not cut
            assert echoes(talker, b'x', 2)
            time.sleep(0.2)
    with connect(port) as silent:
        took = closed_within(silent, 3.0)
        assert took is not None and 0.4 <= took <= 2.0, took


def test_write_timeout_drops_a_client_that_does_not_read(run_pipyx):
    port = free_port()
    script = ("from pipyx import pipy, Message\n"
              "big = Message(b'x' * (16 << 20))\n"
              "pipy().listen(%d, write_timeout=0.5, idle_timeout=0).serve_http(big)\n" % port)
    p = run_pipyx(script, port=port)
    s = socket.create_connection(('127.0.0.1', port), timeout=5)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    # The answer is far bigger than the socket buffers: pipyx's send buffer stops draining, and after write_timeout
    # the connection goes (seen as the listening side's socket disappearing).
    assert wait_for(lambda: connections_of(port) == 0, 5), 'the stalled connection is still open'
    s.close()
    assert p.proc.poll() is None


def test_buffer_limit_drops_a_connection_that_buffers_too_much(run_pipyx):
    port = free_port()
    script = ("from pipyx import pipy, Message\n"
              "big = Message(b'x' * (16 << 20))\n"
              "pipy().listen(%d, buffer_limit=1 << 20).serve_http(big)\n" % port)
    p = run_pipyx(script, port=port)
    s = socket.create_connection(('127.0.0.1', port), timeout=5)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    assert wait_for(lambda: 'buffer_limit' in p.log(), 5), p.log()
    assert wait_for(lambda: connections_of(port) == 0, 3)
    s.close()


def connections_of(port):
    """The established sockets whose local port is `port` (pipyx's side of its accepted connections)."""
    if shutil.which('ss') is None:
        missing_peer('ss (iproute2) not installed')
    out = subprocess.run(['ss', '-Htn', 'state', 'established', 'sport = :%d' % port], capture_output=True,
                         text=True, check=True).stdout
    return len([line for line in out.splitlines() if line.strip()])


def socket_timers(port):
    if shutil.which('ss') is None:
        missing_peer('ss (iproute2) not installed')
    out = subprocess.run(['ss', '-Htno', 'state', 'established', 'sport = :%d' % port], capture_output=True,
                         text=True, check=True).stdout
    return out


@pytest.mark.parametrize('keep_alive', [True, False])
def test_keep_alive_on_accepted_sockets(run_pipyx, keep_alive):
    port = free_port()
    run_pipyx(echo(port, 'keep_alive=%s' % keep_alive), port=port)
    with connect(port) as s:
        assert echoes(s, b'k', 2)
        timers = socket_timers(port)
    assert ('keepalive' in timers) == keep_alive, timers


# ---------------------------------------------------------------------------------------------------- transparent

def netns_command(ns, *argv):
    return ['ip', 'netns', 'exec', ns] + list(argv)


@pytest.fixture
def netns():
    """A network namespace of the test's own with its loopback up, deleted afterwards."""
    for tool in ('ip', 'iptables'):
        if shutil.which(tool) is None:
            missing_peer('%s not installed' % tool)
    ns = 'pipyx-test-%s' % uuid.uuid4().hex[:8]
    made = subprocess.run(['ip', 'netns', 'add', ns], capture_output=True, text=True)
    if made.returncode != 0:
        missing_peer('network namespaces cannot be made here (they need root or CAP_SYS_ADMIN): %s'
                     % made.stderr.strip())
    try:
        subprocess.run(netns_command(ns, 'ip', 'link', 'set', 'lo', 'up'), check=True)
        yield ns
    finally:
        subprocess.run(['ip', 'netns', 'del', ns])


def test_transparent_reports_the_original_destination(netns, tmp_path):
    # Inside the namespace, connections to 10.77.0.1:9999 are redirected to pipyx's port; pipyx answers with
    # the destination the client asked for.
    port = 18080
    script = tmp_path / 'main.py'
    script.write_text(
        "from pipyx import pipy, ctx, Message\n"
        "def where(req):\n"
        "    i = ctx.inbound\n"
        "    return Message('%%s:%%s' %% (i.destination_address, i.destination_port))\n"
        "pipy().listen(%d, transparent=True).serve_http(where)\n" % port)
    subprocess.run(netns_command(netns, 'ip', 'addr', 'add', '10.77.0.1/32', 'dev', 'lo'), check=True)
    rule = subprocess.run(netns_command(netns, 'iptables', '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-d',
                                        '10.77.0.1', '--dport', '9999', '-j', 'REDIRECT', '--to-ports', str(port)),
                          capture_output=True, text=True)
    if rule.returncode != 0:
        missing_peer('iptables cannot add a NAT rule here: %s' % rule.stderr.strip())
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    log = open(tmp_path / 'pipyx.log', 'wb')
    proc = subprocess.Popen(netns_command(netns, sys.executable, '-m', 'pipyx', str(script)), env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        def answer():
            r = subprocess.run(netns_command(netns, 'curl', '-s', '--max-time', '2', 'http://10.77.0.1:9999/'),
                               capture_output=True, text=True)
            return r.stdout if r.returncode == 0 else None
        got = wait_for(answer, 10)
        assert got == '10.77.0.1:9999', (got, (tmp_path / 'pipyx.log').read_text())
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


def test_a_bad_option_value_is_a_load_error(run_pipyx):
    p = run_pipyx(echo(free_port(), "max_connections='many'"))
    assert p.wait(10) != 0
    assert "max_connections must be a number" in p.log() and 'main-0.py:2' in p.log(), p.log()
