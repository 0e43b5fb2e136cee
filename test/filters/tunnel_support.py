"""What the connect_tunnel/accept_tunnel tests share besides the peers (tunnel_peers.py): the edge and cloud scripts, plain blocking
clients with a timeout on every socket, the tunnel's own frames, and an edge and a cloud started together.
"""
import hashlib
import socket
import struct
import threading
import time

from test.filters.tunnel_peers import HOST, TIMEOUT, by_role, pattern
from test.helpers import FAST_STOP, established, free_port, vm_rss_kb, wait_for


# ------------------------------------------------------------------------------------------------- the tunnel's ends

def edge_script(port, cloud_port, mux_options='', connect_options='read_timeout=0, idle_timeout=0'):
    """A pipyx edge: clients on `port`, their streams muxed into tunnels to the cloud on `cloud_port`."""
    return ("pipy().listen('%s:%d', idle_timeout=0).connect_tunnel(%s).to(\n"
            "    lambda p: p.connect('%s:%d', %s))\n" % (HOST, port, mux_options, HOST, cloud_port, connect_options))


def cloud_script(port, backend_port, demux_options=''):
    """A pipyx cloud: tunnels arrive on `port`, each channel gets its own connection to the backend."""
    return ("pipy().listen('%s:%d', idle_timeout=0).accept_tunnel(%s).to(\n"
            "    lambda p: p.connect('%s:%d', read_timeout=0, idle_timeout=0))\n"
            % (HOST, port, demux_options, HOST, backend_port))


def script(*parts):
    return 'from pipyx import pipy, ctx\n\n' + '\n'.join(parts)


def wait_log(proc, text, timeout=TIMEOUT):
    """Waits until the pipyx process has logged `text`; returns its log."""
    try:
        wait_for(lambda: text in proc.log(), timeout, what='%r in the log' % text)
    except AssertionError:
        raise AssertionError('pipyx never logged %r; its log:\n%s' % (text, proc.log()))
    return proc.log()


# ----------------------------------------------------------------------------------------------------------- clients

class Client:
    """A blocking TCP connection to 127.0.0.1:port with a timeout on every operation."""

    def __init__(self, port, timeout=TIMEOUT, sndbuf=None, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if sndbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((HOST, port))
        self.timeout = timeout

    @property
    def address(self):
        return self.sock.getsockname()

    def send(self, data):
        self.sock.sendall(data)

    def recv_exact(self, n, timeout=None):
        self.sock.settimeout(timeout or self.timeout)
        parts, got = [], 0
        try:
            while got < n:
                chunk = self.sock.recv(min(n - got, 1 << 20))
                if not chunk:
                    raise EOFError('closed after %d of %d bytes' % (got, n))
                parts.append(chunk)
                got += len(chunk)
        finally:
            self.sock.settimeout(self.timeout)
        return b''.join(parts)

    def echo(self, data):
        """Sends data and reads as many bytes back; returns (bytes, seconds it took)."""
        t0 = time.monotonic()
        self.send(data)
        back = self.recv_exact(len(data))
        return back, time.monotonic() - t0

    def read_to_end(self, timeout=None):
        """Everything until the peer closes; a reset after the last byte counts as the end too."""
        self.sock.settimeout(timeout or self.timeout)
        parts = []
        try:
            while True:
                chunk = self.sock.recv(1 << 20)
                if not chunk:
                    break
                parts.append(chunk)
        except ConnectionResetError:
            pass
        finally:
            self.sock.settimeout(self.timeout)
        return b''.join(parts)

    def closed_within(self, timeout):
        """True when the peer ends the connection (EOF or reset) within timeout, with no bytes before the end;
        returns the time it took (a true value), or False."""
        t0 = time.monotonic()
        self.sock.settimeout(timeout)
        try:
            extra = self.sock.recv(65536)
        except ConnectionResetError:
            return max(time.monotonic() - t0, 1e-6)
        except socket.timeout:
            return False
        finally:
            self.sock.settimeout(self.timeout)
        if extra:
            raise AssertionError('bytes %r arrived where the end was expected' % extra[:100])
        return max(time.monotonic() - t0, 1e-6)

    def ends_within(self, timeout):
        """Reads (and drops) whatever comes until the peer ends the connection; True if it does within timeout."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self.sock.settimeout(max(deadline - time.monotonic(), 0.01))
                if not self.sock.recv(65536):
                    return True
        except ConnectionResetError:
            return True
        except OSError:
            return False
        finally:
            self.sock.settimeout(self.timeout)
        return False

    def shutdown_write(self):
        self.sock.shutdown(socket.SHUT_WR)

    def abort(self):
        """Close with a reset (SO_LINGER 0), as a crashing client does."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        self.sock.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Pusher(threading.Thread):
    """Sends `total` bytes (pattern(seed)) on a client in the background, then half-closes; `sent` says how far it
    got. Used to push at a stream that cannot take it."""

    def __init__(self, client, seed, total, chunk=256 * 1024):
        super().__init__(daemon=True)
        self.client, self.seed, self.total, self.chunk = client, seed, total, chunk
        self.sent = 0
        self.digest = hashlib.sha256()
        self.error = None
        self.done = threading.Event()

    def run(self):
        block = pattern(self.seed, self.chunk)
        sock = self.client.sock
        try:
            sock.settimeout(30)
            while self.sent < self.total:
                piece = block[:min(self.chunk, self.total - self.sent)]
                view = memoryview(piece)
                while view:
                    n = sock.send(view)
                    view = view[n:]
                    self.sent += n
                self.digest.update(piece)
            sock.shutdown(socket.SHUT_WR)
        except Exception as e:          # reported by the test that reads .error
            self.error = e
        finally:
            self.done.set()

    def plateau(self, quiet=0.4, timeout=10.0):
        """Waits until `sent` stops growing for `quiet` seconds; returns it."""
        deadline = time.monotonic() + timeout
        last, since = -1, time.monotonic()
        while time.monotonic() < deadline and not self.done.is_set():
            if self.sent != last:
                last, since = self.sent, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return last
            time.sleep(0.05)
        return self.sent


# ------------------------------------------------------------------------------------------------------------ frames

def tunnel_frame(ftype, channel, payload=b''):
    """One frame as docs/tunnel.md lays it out: type, 3-byte payload length, 4-byte channel id, payload."""
    return struct.pack('>B', ftype) + len(payload).to_bytes(3, 'big') + struct.pack('>I', channel) + payload


HELLO = tunnel_frame(0, 0, b'pipyx-tunnel/1')


def read_frame(sock):
    """One frame from a tunnel connection: (type, channel, payload), or None at its end."""
    def exact(n):
        buf = b''
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf
    head = exact(8)
    if head is None:
        return None
    length = int.from_bytes(head[1:4], 'big')
    payload = exact(length) if length else b''
    return head[0], struct.unpack('>I', head[4:])[0], payload


# ----------------------------------------------------------------------------------------------- an edge and a cloud

PROMPT = 2.0                               # "promptly": an end that should follow at once arrives within this


class Tunnel:
    """An edge and a cloud process in front of a backend: clients connect to .port."""

    def __init__(self, run_pipyx, backend_port, mux_options='', demux_options=''):
        self.cloud_port = free_port()
        self.port = free_port()
        self.backend_port = backend_port
        self.cloud = run_pipyx(script(cloud_script(self.cloud_port, backend_port, demux_options)),
                               port=self.cloud_port, args=FAST_STOP)
        self.edge = run_pipyx(script(edge_script(self.port, self.cloud_port, mux_options)), port=self.port,
                              args=FAST_STOP)

    def client(self, role=None, **kw):
        c = Client(self.port, **kw)
        if role is not None:
            c.send(role + b'\n')
        return c

    def tunnels(self):
        return established(self.cloud_port)


def open_tunnel(run_pipyx, peers, mux_options='max_sessions=1', demux_options='', handler=by_role):
    backend = peers.serve(handler)
    return Tunnel(run_pipyx, backend.port, mux_options, demux_options), backend


def rss(*procs):
    return [vm_rss_kb(p.pid) for p in procs]
