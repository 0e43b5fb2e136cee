"""The peers a connect_tunnel/accept_tunnel tunnel is tested against: echo servers, a sink that waits before it reads, a firehose, a
relay whose sockets the test can abort, servers that are no pipyx tunnel...; all run on one asyncio loop in a
background thread of the test process, on 127.0.0.1, and each handler plays one role.
"""
import asyncio
import hashlib
import socket
import struct
import threading

import pytest

from test.helpers import wait_for


TIMEOUT = 5.0
HOST = '127.0.0.1'


def pattern(seed, n):
    """n bytes that depend on seed: unique per stream and cheap to make."""
    block = hashlib.sha256(b'%d' % seed).digest() * 2048         # 64 KiB
    return (block * (n // len(block) + 1))[:n]


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


# ---------------------------------------------------------------------------------------------------------- handlers

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
