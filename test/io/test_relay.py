"""The splice relay (io/relay.pxi): listen -> connect moving bytes in the kernel, against real peers. Large transfers
both ways through socat, checked by hash, with half-close (the upstream answers only after the client's FIN); a slow
reader that fills the pipe; a peer that resets, on either side; idle_timeout still ending a silent relay; the relay
behind connect_proxy_protocol; and the normal path (the default, splice=False) unchanged. Whether a connection is
relayed in the kernel shows in the process's descriptors: two pipes per relayed connection."""
import hashlib
import os
import socket
import struct
import threading
import time

import pytest

from test.helpers import FAST_STOP, free_port, lacks, no_traceback, wait_for

RELAY = '''
from pipyx import pipy
pipy().listen(%(port)d, splice=%(splice)s%(listen)s).connect('127.0.0.1:%(up)d'%(connect)s)
'''

BIG = 24 << 20


def pattern(n, seed):
    block = hashlib.sha256(seed).digest() * 2048               # 64 KiB that is not all one byte
    return (block * (n // len(block) + 1))[:n]


def pipes_of(pid):
    n = 0
    for fd in os.listdir('/proc/%d/fd' % pid):
        try:
            if os.readlink('/proc/%d/fd/%s' % (pid, fd)).startswith('pipe:'):
                n += 1
        except OSError:
            pass
    return n


def relay(run_pipyx, up, listen='', connect='', splice=True):
    port = free_port()
    p = run_pipyx(RELAY % {'port': port, 'up': up, 'listen': listen, 'connect': connect, 'splice': splice}, port=port,
                  args=FAST_STOP)
    return port, p


def socat_hasher(processes, tmp_path, answer):
    """socat serving each connection with `sha256sum; cat answer`: the hash of everything the client sent (known
    only once the client has sent its FIN), then the answer file, then its FIN."""
    lacks('socat')
    path = tmp_path / 'answer'
    path.write_bytes(answer)
    up = free_port()
    # (-t: after the client's FIN socat would give the answer only half a second before closing)
    processes.start(['socat', '-t', '30', 'TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork' % up,
                     'SYSTEM:sha256sum; cat %s' % path], port=up, name='socat')
    return up


def exchange(port, upload, read_delay=0.0, hold=None):
    """Sends upload (then FIN) while reading; returns everything read until the relay's FIN."""
    got = []
    with socket.create_connection(('127.0.0.1', port), timeout=20) as s:
        def send():
            s.sendall(upload)
            s.shutdown(socket.SHUT_WR)
        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        if hold is not None:
            hold(s)
        if read_delay:
            time.sleep(read_delay)
        while True:
            b = s.recv(1 << 16)
            if not b:
                break
            got.append(b)
        sender.join(20)
    return b''.join(got)


@pytest.mark.parametrize('splice', [True, False])
def test_large_transfers_both_ways_with_half_close(run_pipyx, processes, tmp_path, splice):
    upload, answer = pattern(BIG, b'up'), pattern(BIG + 12345, b'down')
    up = socat_hasher(processes, tmp_path, answer)
    port, p = relay(run_pipyx, up, splice=splice)
    pipes_before = pipes_of(p.pid)
    seen = {}

    def hold(s):
        wait_for(lambda: pipes_of(p.pid) - pipes_before >= 4, 3)
        seen['pipes'] = pipes_of(p.pid) - pipes_before
    got = exchange(port, upload, hold=hold if splice else None)
    head, _, rest = got.partition(b'\n')
    assert head.split()[0].decode() == hashlib.sha256(upload).hexdigest()      # every byte up, in order
    assert hashlib.sha256(rest).digest() == hashlib.sha256(answer).digest()   # and every byte down
    if splice:
        assert seen['pipes'] == 4                                # relayed in the kernel: two pipes
        wait_for(lambda: pipes_of(p.pid) == pipes_before, 3)     # and the pipes go with the connection
    else:
        assert pipes_of(p.pid) == pipes_before
    no_traceback(p.log())


def test_a_slow_reader_fills_the_pipe_and_loses_nothing(run_pipyx, processes, tmp_path):
    answer = pattern(8 << 20, b'slow')
    up = socat_hasher(processes, tmp_path, answer)
    port, p = relay(run_pipyx, up)
    got = exchange(port, b'x' * 1000, read_delay=1.0)           # socket buffers and the pipe fill meanwhile
    head, _, rest = got.partition(b'\n')
    assert rest == answer


class Upstream:
    """A TCP server in a thread running one function per connection."""

    def __init__(self, serve):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.serve = serve
        self.conns = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def reset(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    s.close()


def test_an_upstream_reset_closes_the_client(run_pipyx):
    def serve(c):
        c.recv(100)
        c.sendall(b'bye')
        time.sleep(0.2)
        reset(c)
    up = Upstream(serve)
    try:
        port, p = relay(run_pipyx, up.port)
        with socket.create_connection(('127.0.0.1', port), timeout=5) as s:
            s.sendall(b'hello')
            got = b''
            t0 = time.monotonic()
            try:
                while True:
                    b = s.recv(100)
                    if not b:
                        break
                    got += b
            except ConnectionResetError:
                pass
            assert got == b'bye' and time.monotonic() - t0 < 3
    finally:
        up.close()


def test_a_client_reset_closes_the_upstream(run_pipyx):
    ended = threading.Event()

    def serve(c):
        c.settimeout(5)
        try:
            while c.recv(100):
                pass
        except OSError:
            pass
        ended.set()
    up = Upstream(serve)
    try:
        port, p = relay(run_pipyx, up.port)
        s = socket.create_connection(('127.0.0.1', port), timeout=5)
        s.sendall(b'hello')
        wait_for(lambda: up.conns, 3)
        time.sleep(0.2)
        reset(s)
        assert ended.wait(3)                                       # the upstream's connection ended too
    finally:
        up.close()


def test_idle_timeout_ends_a_silent_relay(run_pipyx):
    def serve(c):
        c.settimeout(10)
        try:
            while c.recv(100):
                pass
        except OSError:
            pass
    up = Upstream(serve)
    try:
        port, p = relay(run_pipyx, up.port, connect=', idle_timeout=0.5')
        pipes = pipes_of(p.pid)
        with socket.create_connection(('127.0.0.1', port), timeout=5) as s:
            s.sendall(b'hello')
            wait_for(lambda: pipes_of(p.pid) == pipes + 4, 3)      # relayed in the kernel
            s.settimeout(5)
            t0 = time.monotonic()
            try:
                assert s.recv(100) == b''
            except ConnectionResetError:
                pass
            assert 0.3 < time.monotonic() - t0 < 3
    finally:
        up.close()


def test_relayed_behind_connect_proxy_protocol(run_pipyx):
    got = []

    def serve(c):
        c.settimeout(5)
        data = b''
        while not data.endswith(b'!'):
            b = c.recv(1 << 16)
            if not b:
                break
            data += b
        got.append(data)
        c.sendall(b'ok')
        c.close()
    up = Upstream(serve)
    try:
        port = free_port()
        p = run_pipyx('from pipyx import pipy\npipy().listen(%d, splice=True).connect_proxy_protocol(1).to('
                      'lambda p: p.connect("127.0.0.1:%d"))\n' % (port, up.port), port=port, args=FAST_STOP)
        pipes = pipes_of(p.pid)
        with socket.create_connection(('127.0.0.1', port), timeout=5) as s:
            me = s.getsockname()
            wait_for(lambda: pipes_of(p.pid) == pipes + 4, 3)      # the header went first; then the kernel relays
            s.sendall(b'a' * 100000 + b'!')
            assert s.recv(10) == b'ok'
        wait_for(lambda: got, 3)
        assert got[0] == ('PROXY TCP4 127.0.0.1 127.0.0.1 %d %d\r\n' % (me[1], port)).encode() + b'a' * 100000 + b'!'
    finally:
        up.close()


def test_download_flow_control_through_the_kernel_relay(run_pipyx, backend, monkeypatch):
    # The normal path's own test (64 MB to a client that stops reading, then reads slowly, then fast: every byte in
    # order, memory bounded), run with the relay asked for.
    from test.io import test_flow_control as normal_path
    monkeypatch.setattr(normal_path, 'RELAY', normal_path.RELAY.replace(
        "listen('127.0.0.1:%(port)d')", "listen('127.0.0.1:%(port)d', splice=True)"))
    assert 'splice=True' in normal_path.RELAY
    normal_path.test_download_flow_control_tcp_relay(run_pipyx, backend)
