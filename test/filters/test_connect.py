"""connect: a refused upstream, read_timeout, and idle_timeout on a relayed connection; in front of
test/helpers/backend_app.py. Then Pipy's options: bind (the source address an upstream sees), retry_count against
an upstream that starts late, on_state's transitions, and write_timeout.
"""
import socket
import threading
import time

import pytest

from test.filters.proxy_support import proxy, setup  # noqa: F401  (fixtures)
from test.helpers import (FAST_STOP, RELAY, RawClient, backend_stats, closed_within, free_port, json_of,
                          missing_peer, req, wait_for)


def test_upstream_refused_502(proxy):
    t = time.monotonic()
    with RawClient(proxy.p_refused) as c:
        c.send(req('/echo'))
        r = c.read_response()
        assert r.status == 502
        assert time.monotonic() - t < 3
        c.send(req('/echo'))                     # the client connection is still usable
        assert c.read_response().status == 502


def test_read_timeout_504(proxy):
    t = time.monotonic()
    with RawClient(proxy.p_timeout) as c:
        c.send(req('/slow/2000'))
        r = c.read_response()
        took = time.monotonic() - t
        assert r.status == 504
        assert 0.25 <= took < 1.5, took
        c.send(req('/slow/50'))                  # a fast enough answer is not cut off
        r = c.read_response()
        assert r.status == 200 and r.body == b'slow'


def test_read_timeout_not_triggered_by_fast_pipelined(proxy):
    with RawClient(proxy.p_timeout) as c:
        c.send(req('/slow/200') * 3)
        assert [c.read_response().status for _ in range(3)] == [200, 200, 200]


# ------------------------------------------------------------------------------------------------------ idle_timeout

@pytest.fixture
def idle_relay(run_pipyx, backend):
    port = free_port()
    p = run_pipyx(RELAY % {'port': port, 'backend': backend, 'connect_opts': ', idle_timeout=0.5'}, port=port,
                  args=FAST_STOP)
    return port, p


def test_connect_idle_timeout_closes_silent_relay(idle_relay, backend):
    port, p = idle_relay
    with RawClient(port) as c:
        c.send(req('/conn'))
        conn_id = json_of(c.read_response())['conn']
        took = closed_within(c.sock, 3.0)
    print('connect idle_timeout=0.5: the client saw EOF after %s s of silence' % took)
    assert took is not None, 'a silent relayed connection is still open after 3 s'
    assert 0.4 <= took <= 1.5, took
    deadline = time.monotonic() + 2
    while conn_id in backend_stats(backend)['open'] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert conn_id not in backend_stats(backend)['open'], 'the upstream side of the relay was left open'


def test_connect_idle_timeout_spares_active_relay(idle_relay):
    port, p = idle_relay
    with RawClient(port) as c:
        t_end = time.monotonic() + 2.0
        n = 0
        while time.monotonic() < t_end:
            c.send(req('/conn'))
            assert json_of(c.read_response())['requests'] == n + 1
            n += 1
            time.sleep(0.2)
        assert n >= 8


def test_connect_idle_timeout_spares_relay_sending_upstream(idle_relay):
    """Traffic either way counts: a client that keeps sending (here a request head, one line every 0.2 s, that the
    backend reads without answering yet) must not be cut off after idle_timeout."""
    port, p = idle_relay
    with RawClient(port) as c:
        c.send(b'GET /conn HTTP/1.1\r\nHost: localhost\r\n')
        t0 = time.monotonic()
        i = 0
        while time.monotonic() - t0 < 2.0:
            time.sleep(0.2)
            try:
                c.send(b'X-Line-%d: %s\r\n' % (i, b'v' * 10))
            except OSError as e:
                raise AssertionError('relay closed %.2fs into a steady upload: %r' % (time.monotonic() - t0, e))
            i += 1
        c.send(b'\r\n')
        try:
            r = c.read_response()
        except EOFError as e:
            raise AssertionError('relay closed %.2fs into a steady upload: %s' % (time.monotonic() - t0, e))
        assert json_of(r)['requests'] == 1


# ------------------------------------------------------------------------- Pipy's options: bind, retries, on_state

class PeerRecorder:
    """A TCP server on 127.0.0.1 in a thread: answers each connection with the address it came from, then closes."""

    def __init__(self, port=0):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(('127.0.0.1', port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopped = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stopped:
            try:
                conn, peer = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            with conn:
                conn.settimeout(2)
                try:
                    conn.recv(100)
                    conn.sendall(('%s:%d' % peer).encode())
                except OSError:
                    pass                 # a client that went away: the next one is served

    def stop(self):
        self.stopped = True
        self.thread.join(2)
        self.sock.close()


def relay_through(port, upstream, options, prelude=''):
    return ('from pipyx import pipy, ctx\n%s\npipy().listen(%d).connect(%r, %s)\n'
            % (prelude, port, '127.0.0.1:%d' % upstream, options))


def ask(port):
    with socket.create_connection(('127.0.0.1', port), timeout=5) as s:
        s.sendall(b'who am i')
        s.settimeout(5)
        got = b''
        while True:
            b = s.recv(100)
            if not b:
                return got.decode()
            got += b


def test_bind_sets_the_source_address_the_upstream_sees(run_pipyx):
    upstream = PeerRecorder()
    try:
        port = free_port()
        run_pipyx(relay_through(port, upstream.port, "bind='127.0.0.2'"), port=port)
        assert ask(port).startswith('127.0.0.2:')
        port2 = free_port()                             # a callable, evaluated per stream
        run_pipyx(relay_through(port2, upstream.port, "bind=lambda: '127.0.0.3:0'"), port=port2)
        assert ask(port2).startswith('127.0.0.3:')
    finally:
        upstream.stop()


@pytest.mark.parametrize('keep_alive', [True, False])
def test_keep_alive_on_the_upstream_socket(run_pipyx, keep_alive):
    import shutil
    import subprocess
    if shutil.which('ss') is None:
        missing_peer('ss (iproute2) not installed')
    silent = socket.socket()
    silent.bind(('127.0.0.1', 0))
    silent.listen(4)
    upstream = silent.getsockname()[1]
    try:
        port = free_port()
        run_pipyx(relay_through(port, upstream, 'keep_alive=%s' % keep_alive), port=port)
        with socket.create_connection(('127.0.0.1', port), timeout=5) as c:
            c.sendall(b'x')
            out = wait_for(lambda: subprocess.run(
                ['ss', '-Htno', 'state', 'established', 'dport = :%d' % upstream], capture_output=True,
                text=True).stdout.strip(), 3)
        assert out, 'pipyx did not connect upstream'
        assert ('keepalive' in out) == keep_alive, out
    finally:
        silent.close()


def test_bad_bind_address_is_a_load_error(run_pipyx):
    p = run_pipyx(relay_through(free_port(), 1, "bind='not an address'"))
    assert p.wait(10) != 0
    assert "bind 'not an address'" in p.log() and 'main-0.py:' in p.log(), p.log()


def test_retry_count_waits_for_an_upstream_that_starts_late(run_pipyx, tmp_path):
    upstream_port = free_port()
    states = tmp_path / 'states'
    prelude = ('def note(outbound):\n'
               '    with open(%r, "a") as f:\n'
               '        f.write("%%s %%s\\n" %% (outbound.state, outbound.error))\n' % str(states))
    port = free_port()
    p = run_pipyx(relay_through(port, upstream_port, 'retry_count=20, retry_delay=0.1, on_state=note', prelude),
                  port=port)
    result = {}
    asker = threading.Thread(target=lambda: result.setdefault('answer', ask(port)), daemon=True)
    asker.start()
    time.sleep(0.6)                                     # a few attempts are refused meanwhile
    upstream = PeerRecorder(upstream_port)
    try:
        asker.join(5)
        assert result.get('answer', '').startswith('127.0.0.1:'), (result, p.log())
    finally:
        upstream.stop()
    wait_for(lambda: states.exists() and states.read_text().endswith('closed None\n'), 3)
    seen = states.read_text().splitlines()
    assert seen[0] == 'connecting None'
    assert 'idle ConnectionRefused' in seen             # a refused attempt, then another
    assert seen[-2:] == ['connected None', 'closed None'], seen
    assert 'retrying' in p.log()


def test_retries_give_up_after_retry_count(run_pipyx, tmp_path):
    states = tmp_path / 'states'
    prelude = ('def note(outbound):\n'
               '    with open(%r, "a") as f:\n'
               '        f.write("%%s %%s %%s\\n" %% (outbound.state, outbound.error, outbound.retries))\n'
               % str(states))
    port = free_port()
    run_pipyx(relay_through(port, free_port(), 'retry_count=2, on_state=note', prelude), port=port)
    t0 = time.monotonic()
    assert ask(port) == ''                              # closed: nothing to relay to
    assert time.monotonic() - t0 < 3
    wait_for(lambda: states.exists() and 'closed' in states.read_text(), 3)
    assert states.read_text().splitlines() == [
        'connecting None 0', 'idle ConnectionRefused 1', 'connecting None 1', 'idle ConnectionRefused 2',
        'connecting None 2', 'closed ConnectionRefused 2']


def test_write_timeout_ends_a_stream_the_upstream_does_not_read(run_pipyx):
    # An upstream that accepts and never reads: what pipyx sends it piles up, and after write_timeout the relay ends.
    silent = socket.socket()
    silent.bind(('127.0.0.1', 0))
    silent.listen(4)
    try:
        port = free_port()
        run_pipyx(relay_through(port, silent.getsockname()[1], 'write_timeout=0.5, read_timeout=0, idle_timeout=0'),
                  port=port)
        with socket.create_connection(('127.0.0.1', port), timeout=5) as c:
            c.setblocking(False)
            deadline = time.monotonic() + 6
            ended = False
            while time.monotonic() < deadline and not ended:
                try:
                    c.send(b'x' * 65536)
                except BlockingIOError:
                    time.sleep(0.05)
                except (BrokenPipeError, ConnectionResetError):
                    ended = True
                try:
                    if c.recv(10) == b'':
                        ended = True
                except BlockingIOError:
                    pass                 # nothing to read yet: the relay is still open
                except ConnectionResetError:
                    ended = True
            assert ended, 'the relay to an upstream that does not read is still open'
    finally:
        silent.close()
