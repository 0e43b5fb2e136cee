"""What the mux/demux tests share: the peers a tunnel is tested against (echo servers, a sink that waits before it
reads, a firehose, a relay whose sockets the test can abort, servers that are no pipyx tunnel...), all run on one
asyncio loop in a background thread of the test process, on 127.0.0.1; the edge and cloud scripts; and plain
blocking clients with a timeout on every socket.
"""
import asyncio
import hashlib
import socket
import struct
import threading
import time

import pytest

from test.helpers import established, free_port, vm_rss_kb, wait_for

TIMEOUT = 5.0
HOST = '127.0.0.1'


# ------------------------------------------------------------------------------------------------ the tunnel's ends

def edge_script(port, cloud_port, mux_options='', connect_options='read_timeout=0, idle_timeout=0'):
    """A pipyx edge: clients on `port`, their streams muxed into tunnels to the cloud on `cloud_port`."""
    return ("pipy().listen('%s:%d', idle_timeout=0).mux(%s).to(\n"
            "    lambda p: p.connect('%s:%d', %s))\n" % (HOST, port, mux_options, HOST, cloud_port, connect_options))


def cloud_script(port, backend_port, demux_options=''):
    """A pipyx cloud: tunnels arrive on `port`, each channel gets its own connection to the backend."""
    return ("pipy().listen('%s:%d', idle_timeout=0).demux(%s).to(\n"
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


def pattern(seed, n):
    """n bytes that depend on seed: unique per stream and cheap to make."""
    block = hashlib.sha256(b'%d' % seed).digest() * 2048         # 64 KiB
    return (block * (n // len(block) + 1))[:n]


# ------------------------------------------------------------------------------------------------------- clients

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


# ------------------------------------------------------------------------------------------------------- the peers

class PeerConn:
    """One connection accepted by a peer server, as the test sees it."""

    def __init__(self, reader, writer):
        self.reader = reader
        self.writer = writer
        self.received = 0
        self.sent = 0
        self.head = b''                   # the first bytes received (up to 256)
        self.digest = hashlib.sha256()
        self.ended = threading.Event()    # the handler is done with it: the connection is closed

    def got(self, data):
        self.received += len(data)
        if len(self.head) < 256:
            self.head += data[:256 - len(self.head)]


class PeerServer:
    """A listening socket on the peers' loop; every accepted connection runs `handler(server, conn)`."""

    def __init__(self, peers, handler):
        self.peers = peers
        self.handler = handler
        self.conns = []
        self.server = None
        self.port = None
        self.gate = None                  # an asyncio.Event the handlers may wait on; see open_gate()

    async def _start(self):
        self.gate = asyncio.Event()
        self.server = await asyncio.start_server(self._accept, HOST, 0, backlog=512, limit=1 << 20)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _accept(self, reader, writer):
        conn = PeerConn(reader, writer)
        self.conns.append(conn)
        try:
            await self.handler(self, conn)
        except (ConnectionError, asyncio.CancelledError, OSError):
            pass
        finally:
            try:
                writer.close()
            except Exception:
                pass
            conn.ended.set()

    def open_gate(self):
        self.peers.loop.call_soon_threadsafe(self.gate.set)

    def close_conn(self, conn):
        """The server closes this connection (FIN)."""
        self.peers.loop.call_soon_threadsafe(conn.writer.close)

    def find(self, head_prefix, timeout=TIMEOUT):
        """The accepted connection whose first bytes start with head_prefix."""
        return wait_for(lambda: next((c for c in self.conns if c.head.startswith(head_prefix)), None), timeout,
                        what='a connection starting with %r' % head_prefix)

    def stop(self):
        async def stop():
            self.server.close()
            for c in self.conns:
                c.writer.transport.abort()
        self.peers.call(stop())


class Relay:
    """A TCP relay on the peers' loop: each accepted connection gets its own connection to `target_port`, bytes are
    copied both ways, an end on one side closes the other. abort_all() resets every connection it carries."""

    def __init__(self, peers, target_port):
        self.peers = peers
        self.target_port = target_port
        self.pairs = []
        self.accepted = 0

    async def _start(self):
        self.server = await asyncio.start_server(self._accept, HOST, 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _accept(self, r1, w1):
        self.accepted += 1
        try:
            r2, w2 = await asyncio.open_connection(HOST, self.target_port)
        except OSError:
            w1.close()
            return
        self.pairs.append((w1, w2))

        async def pump(r, w, other):
            try:
                while True:
                    data = await r.read(65536)
                    if not data:
                        break
                    w.write(data)
                    await w.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                w.close()
                other.close()
        await asyncio.gather(pump(r1, w2, w1), pump(r2, w1, w2))

    def abort(self, index=None):
        """Resets both sides of the index-th connection the relay carries (in the order they came), or of all."""
        async def abort():
            chosen = self.pairs if index is None else [self.pairs[index]]
            for pair in chosen:
                for w in pair:
                    sock = w.get_extra_info('socket')
                    try:
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
                    except OSError:
                        pass
                    w.transport.abort()
            self.pairs = [p for p in self.pairs if p not in chosen]
        self.peers.call(abort())

    def stop(self):
        async def stop():
            self.server.close()
            for pair in self.pairs:
                for w in pair:
                    w.transport.abort()
        self.peers.call(stop())


class Peers:
    """An asyncio loop in a background thread that runs the peers of one test."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.servers = []

    def call(self, coro, timeout=TIMEOUT):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def serve(self, handler):
        s = PeerServer(self, handler)
        self.call(s._start())
        self.servers.append(s)
        return s

    def relay(self, target_port):
        r = Relay(self, target_port)
        self.call(r._start())
        self.servers.append(r)
        return r

    def close(self):
        for s in self.servers:
            try:
                s.stop()
            except Exception:
                pass

        async def cancel_rest():
            for t in asyncio.all_tasks():
                if t is not asyncio.current_task():
                    t.cancel()
        try:
            self.call(cancel_rest())
        except Exception:
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        if not self.loop.is_running():
            self.loop.close()


@pytest.fixture
def peers():
    p = Peers()
    try:
        yield p
    finally:
        p.close()


# ------------------------------------------------------------------------------------------------------ handlers

async def echo(server, conn):
    """Sends back what it reads; closes after the client's end."""
    while True:
        data = await conn.reader.read(65536)
        if not data:
            break
        conn.got(data)
        conn.writer.write(data)
        await conn.writer.drain()


async def gated_sink(server, conn):
    """Reads nothing until the server's gate opens, then reads everything, keeping its length and sha256."""
    await server.gate.wait()
    while True:
        data = await conn.reader.read(1 << 20)
        if not data:
            break
        conn.got(data)
        conn.digest.update(data)


FIREHOSE_BYTES = 50 << 20


async def firehose(server, conn):
    """Sends FIREHOSE_BYTES of pattern(7) as fast as they are taken, then closes."""
    block = pattern(7, 1 << 20)
    for _ in range(FIREHOSE_BYTES >> 20):
        conn.writer.write(block)
        await conn.writer.drain()
        conn.sent += len(block)


async def answer_after_end(server, conn):
    """Reads until the client's end, then answers with the sha256 of what it read followed by 3 MiB of pattern(9)
    and closes: a server that only speaks once the client has finished sending."""
    while True:
        data = await conn.reader.read(1 << 20)
        if not data:
            break
        conn.got(data)
        conn.digest.update(data)
    conn.writer.write(conn.digest.digest() + pattern(9, 3 << 20))
    await conn.writer.drain()


async def black_hole(server, conn):
    """Accepts the connection and then neither reads nor answers."""
    await asyncio.sleep(3600)


def speaks_first(data):
    """A server that sends `data` as soon as a client connects, then holds the connection without reading."""
    async def handler(server, conn):
        conn.writer.write(data)
        await conn.writer.drain()
        await asyncio.sleep(3600)
    return handler


async def discard(server, conn):
    """Reads and drops everything."""
    while True:
        data = await conn.reader.read(1 << 20)
        if not data:
            break
        conn.got(data)


ROLES = {b'echo': echo, b'sink': gated_sink, b'firehose': firehose, b'answer': answer_after_end}


async def by_role(server, conn):
    """One backend for several kinds of streams: the client's first line names the handler in ROLES that serves the
    rest of the connection (the line is kept in conn.head, and neither echoed nor counted in conn.received); bytes
    that name no role are read and dropped."""
    try:
        conn.head = await conn.reader.readline()
    except ValueError:                     # a first "line" longer than the reader's limit
        return await discard(server, conn)
    await ROLES.get((conn.head.split() or [b''])[0], discard)(server, conn)


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


# ------------------------------------------------------------------------------------ an edge and a cloud

PROMPT = 2.0                               # "promptly": an end that should follow at once arrives within this
FAST_STOP = ['--drain-timeout', '0.5']     # streams a test leaves open: do not wait 10 s for them at the end


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
