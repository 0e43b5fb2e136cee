"""A worker process: opens the program's listeners on uvloop, reloads on SIGHUP, drains on SIGTERM/SIGINT."""
import asyncio
import gc
import ipaddress
import logging
import resource
import signal
import socket

from ._native import ListenerState, UdpListenerState
from .address import format_address
from .errors import ScriptError
from .memory import IdleReclaim
from .tasks import TaskRunner
from . import runtime

log = logging.getLogger('pipyx')


class _NoTLSHalfCloseWarning(logging.Filter):
    """Inbound connections return True from eof_received so a plain-TCP client may half-close and still read the
    answer. TLS has no half-close, so the loop ignores that and warns, on every TLS connection the client closes
    first; the warning says nothing an operator could act on."""

    def filter(self, record):
        return 'eof_received() has no effect when using ssl' not in record.getMessage()


_no_tls_half_close_warning = _NoTLSHalfCloseWarning()


def bound_socket(family, kind, addr, reuse_port, transparent, suffix):
    """A socket of kind bound to addr for a listener; an error names the address (and suffix: '/udp')."""
    sock = socket.socket(family, kind)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        if transparent:
            set_ip_transparent(sock, family, addr[0], addr[1])
        sock.bind(addr)
    except OSError as e:
        sock.close()
        raise OSError(e.errno, 'cannot listen on %s%s: %s' % (format_address(addr[0], addr[1]), suffix, e.strerror)) \
            from None
    except BaseException:
        sock.close()
        raise
    return sock


def listening_socket(host, port, reuse_port, transparent=False):
    """The bound socket for an IP address, made here; None for a host name, which the loop resolves. Given a host,
    the loop would resolve even an address in libuv's thread pool, and that starts four threads: a process with
    threads pays on every read and write, since the kernel then counts references to each file it looks up
    (measured on the proxy path: about 1% of the server's CPU)."""
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        return None
    return bound_socket(family, socket.SOCK_STREAM, (host, port), reuse_port, transparent, '')


IP_TRANSPARENT = 19          # linux/in.h; IPV6_TRANSPARENT is 75


def set_ip_transparent(sock, family, host, port):
    """IP_TRANSPARENT lets the port accept connections TPROXY sends it for other addresses. It needs CAP_NET_ADMIN;
    without it, connections NAT redirected here (iptables REDIRECT) still work, so that is a warning, not an error."""
    try:
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, 75, 1)
        else:
            sock.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1)
    except OSError as e:
        log.warning('listen %s transparent: no IP_TRANSPARENT (%s): only NAT-redirected connections will be seen',
                    format_address(host, port), e.strerror)


def listener_key(address, port, layout):
    """The key of a listener in Worker.listeners: (address, port) for TCP, (address, port, 'udp') for UDP, so that one
    port number may serve both."""
    udp = (layout.listen_options or {}).get('protocol', 'tcp') == 'udp'
    return (address, port, 'udp') if udp else (address, port)


def format_key(key):
    return '%s:%d' % key[:2] + ('/udp' if len(key) > 2 else '')


def udp_socket(host, port, reuse_port):
    """The bound datagram socket of a UDP listener."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM, flags=socket.AI_PASSIVE)
    family, _, _, _, addr = infos[0]
    return bound_socket(family, socket.SOCK_DGRAM, addr, reuse_port, False, '/udp')


def listener_timeouts(layout):
    """(idle_timeout, linger_time, linger_timeout) from a listen()'s options, defaults where not given."""
    options = layout.listen_options or {}
    return tuple(float(options.get(name, default) or 0)
                 for name, default in (('idle_timeout', 60.0), ('linger_time', 30.0), ('linger_timeout', 5.0)))


def configure_listener(state, layout):
    """Gives a ListenerState its layout's listen() options (when the port opens, and again on each reload)."""
    options = layout.listen_options or {}
    state.layout = layout
    state.idle_timeout, state.linger_time, state.linger_timeout = listener_timeouts(layout)
    state.read_timeout = float(options.get('read_timeout') or 0)
    state.write_timeout = float(options.get('write_timeout') or 0)
    state.congestion_limit = int(options.get('congestion_limit') or 0)
    state.buffer_limit = int(options.get('buffer_limit') or 0)
    state.transparent = bool(options.get('transparent'))
    state.splice = bool(options.get('splice', False))


class LimitedAcceptor:
    """A listening socket that has at most max_connections connections open: at the limit it stops accepting, so
    that new clients wait in the kernel's backlog, and accepts again as soon as a connection closes. The event
    loop's servers cannot pause, so this one accepts by itself; it stands where a server would (close, sockets)."""

    def __init__(self, loop, sock, state, ssl, backlog, max_connections):
        self.loop, self.sock, self.state, self.ssl = loop, sock, state, ssl
        self.max_connections = max_connections
        self.sockets = [sock]
        self.starting = 0            # accepted, and connection_made still to come
        self.reading = False
        self.closed = False
        sock.setblocking(False)
        sock.listen(backlog)
        state.on_close = self.room_made
        self.room_made()

    def has_room(self):
        return len(self.state.connections) + self.starting < self.max_connections

    def accept(self):
        while self.has_room():
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:     # out of descriptors: the loop's own servers say nothing either; try again soon
                log.warning('accepting on %s: %s', self.sock.getsockname(), e.strerror)
                self.stop_reading()
                self.loop.call_later(0.1, self.room_made)
                return
            conn.setblocking(False)
            self.starting += 1
            task = self.loop.create_task(self.loop.connect_accepted_socket(self.state, conn, ssl=self.ssl))
            task.add_done_callback(self.started)
        self.stop_reading()

    def started(self, task):
        self.starting -= 1
        if not task.cancelled() and task.exception() is not None:
            log.debug('an accepted connection did not start: %r', task.exception())
        self.room_made()

    def room_made(self):
        if not self.reading and not self.closed and self.has_room():
            self.loop.add_reader(self.sock.fileno(), self.accept)
            self.reading = True

    def stop_reading(self):
        if self.reading:
            self.loop.remove_reader(self.sock.fileno())
            self.reading = False

    def close(self):
        if not self.closed:
            self.closed = True
            self.stop_reading()
            self.state.on_close = None
            self.sock.close()


def udp_options(layout):
    """(idle_timeout, max_peers) of a UDP listen(), defaults where not given. max_peers defaults to 10000, or to half
    the descriptor limit when that is lower: a relay opens a socket per peer, and a flood that ran the process out of
    descriptors would fail every other connection too (and log each failure) instead of being dropped quietly."""
    options = layout.listen_options or {}
    max_peers = options.get('max_peers')
    if max_peers is None:
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        max_peers = 10000 if soft == resource.RLIM_INFINITY or soft <= 0 else min(10000, max(soft // 2, 1))
    return float(options.get('idle_timeout', 60.0) or 0), int(max_peers)


class Worker:
    def __init__(self, load, reuse_port=False, drain_timeout=10.0):
        self.load = load                 # () -> Program; raises ScriptError
        self.reuse_port = reuse_port
        self.drain_timeout = drain_timeout
        self.listeners = {}              # (address, port) -> (server, ListenerState)
        self.retired = []                # ListenerStates of ports a reload stopped, while connections remain
        self.stopping = None
        self.loop = None
        self.tasks = None                # the TaskRunner of the version running now
        self.exit_code = 0               # what pipyx.exit(code) asked for
        self.files = set()               # the running version's Program.files, for --watch

    async def run(self, program, background=()):
        """Serves program until SIGTERM/SIGINT. background: coroutine functions (taking this worker) started once the
        listeners are open, such as the repo watcher or the file watcher; they are cancelled before draining."""
        loop = self.loop = asyncio.get_running_loop()
        self.stopping = loop.create_future()
        runtime.attach(self, program.root)
        # Signals first: a SIGTERM that comes while the ports are being opened still means a clean stop.
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(self.reload()))
        await self.apply(program)
        # What loading made lives as long as the process: keep the collector from walking it again and again.
        # Per request a few short-lived objects are made and freed by reference counting; collecting the young
        # generation every 700 of them would mostly walk the requests in flight, so it runs less often.
        gc.freeze()
        gc.set_threshold(50000, 20, 100)
        # What a burst of connections freed stays with the process (free lists, allocator arenas, the C heap), and
        # cycles a script makes wait for collections those thresholds make rare: memory.py gives it back when the
        # process goes quiet.
        idle_reclaim = IdleReclaim(loop).start()
        tasks = [loop.create_task(fn(self)) for fn in background]
        for t in tasks:              # a background task that dies would otherwise go unnoticed until exit
            t.add_done_callback(lambda t: t.cancelled() or t.exception() is None or
                                log.error('background task failed: %r', t.exception()))
        try:
            await self.stopping
        finally:
            for t in tasks:
                t.cancel()
            if tasks:
                # A task may swallow its cancellation (asyncio.wait_for can, when the call it waits for has just
                # failed): stopping must not wait on it for ever.
                await asyncio.wait(tasks, timeout=2.0)
            idle_reclaim.stop()
        # As in Pipy, the exit() pipelines run while the ports are still open (to deregister from a registry, say),
        # and the connections are drained once they are done.
        if self.tasks is not None:
            self.tasks.stop()
            await self.tasks.run_exits(self.drain_timeout)
        await self.drain()

    def exit(self, code):
        """pipyx.exit(code): stop as SIGTERM does, then exit with code."""
        self.exit_code = code
        self.stop()

    def stop(self):
        if self.stopping is not None and not self.stopping.done():
            log.info('stopping: finishing requests in flight (up to %gs)', self.drain_timeout)
            self.stopping.set_result(None)

    async def reload(self):
        """Loads the script again and switches to it; on an error the previous version keeps running. Returns the
        error (None when the switch happened), for callers that report it elsewhere."""
        try:
            program = self.load()
            await self.apply(program)
        except (ScriptError, OSError) as e:
            log.error('reload failed, still running the previous version: %s', e)
            return e
        log.info('reloaded %s', program.entry)
        return None

    def listener_states(self):
        """The ListenerState of every port listened on, and of those a reload stopped whose connections are still
        draining: for pipyx.inbound(). (TCP ones only: the peers of a UDP port are not connections.)"""
        self.retired = [state for state in self.retired if state.connections]
        return [state for key, (_, state) in self.listeners.items() if len(key) == 2] + self.retired

    def addresses(self):
        """The listening addresses as 'host:port' strings, for reports."""
        return [format_key(key) for key in self.listeners]

    async def apply(self, program):
        """Opens new listeners, points existing ones at their new layouts, drains the ones no longer there. If a
        new port cannot be opened, nothing changes: the ports opened for this version are closed again."""
        try:
            await self._apply(program)
        finally:
            # The version replaced is garbage held in reference cycles: the script's functions and its namespace
            # point at each other, and so do the modules and their program. Under the worker's thresholds a young
            # collection comes only every few hundred reloads, and what lived through one waits even longer for a
            # full one: the process would grow with each reload until then. Versions change seldom, so the whole
            # heap is collected now. (A version refused here, or one that failed to load, is still held by the
            # caller's error: a later collection takes it.)
            gc.collect()

    async def _apply(self, program):
        loop = asyncio.get_running_loop()
        wanted = {}
        for address, port, layout in program.listens:
            wanted[listener_key(address, port, layout)] = layout
        opened = {}
        try:
            for key, layout in wanted.items():
                if key not in self.listeners:
                    opened[key] = await self.open(loop, key, layout)
        except OSError:
            for server, state in opened.values():
                server.close()
            raise
        for key, layout in wanted.items():
            if key in opened:
                self.listeners[key] = opened[key]
                log.info('listening on %s', format_key(key))
            elif len(key) > 2:
                server, state = self.listeners[key]
                state.layout = layout
                state.idle_timeout, state.max_peers = udp_options(layout)
            else:
                server, state = self.listeners[key]
                configure_listener(state, layout)
                if isinstance(server, LimitedAcceptor):
                    server.max_connections = int((layout.listen_options or {}).get('max_connections') or 0) or \
                        server.max_connections
                    server.room_made()
        for key in [k for k in self.listeners if k not in wanted]:
            server, state = self.listeners.pop(key)
            server.close()
            state.drain()
            if len(key) == 2:
                self.retired.append(state)
            log.info('stopped listening on %s', format_key(key))
        # The old version's tasks stop (a run still going is shut down) and the new version's start.
        if self.tasks is not None:
            self.tasks.stop()
        runtime.attach(self, program.root)
        self.tasks = TaskRunner(program, loop).start()
        self.files = program.files      # (the set itself: a certificate callable adds to it at handshakes)

    async def open(self, loop, key, layout):
        if len(key) > 2:
            return await self.open_udp(loop, key, layout)
        options = layout.listen_options or {}
        state = ListenerState(layout)
        configure_listener(state, layout)
        state.loop = loop
        reuse = options.get('reuse_port', self.reuse_port)
        # ssl: an ssl.SSLContext. The loop does the TLS, so the pipeline reads and writes plain bytes.
        if options.get('ssl') is not None:
            logging.getLogger('asyncio').addFilter(_no_tls_half_close_warning)     # adding it twice adds it once
        backlog, ssl = int(options.get('backlog', 1024)), options.get('ssl')
        max_connections = int(options.get('max_connections') or 0)
        sock = listening_socket(key[0], key[1], bool(reuse), state.transparent)
        if sock is None and (max_connections > 0 or state.transparent):
            # A host name: these need a socket of our own, so it is resolved here.
            infos = await loop.getaddrinfo(key[0], key[1], type=socket.SOCK_STREAM)
            sock = listening_socket(infos[0][4][0], key[1], bool(reuse), state.transparent)
        if max_connections > 0:
            server = LimitedAcceptor(loop, sock, state, ssl, backlog, max_connections)
        elif sock is not None:
            try:
                server = await loop.create_server(state, sock=sock, backlog=backlog, ssl=ssl)
            except BaseException:
                sock.close()
                raise
        else:
            server = await loop.create_server(state, key[0], key[1], backlog=backlog, reuse_port=bool(reuse),
                                              reuse_address=True, ssl=ssl)
        # Accepted sockets inherit these from the listening one: no system call per connection.
        for s in server.sockets:
            try:
                if options.get('no_delay', True):
                    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if options.get('keep_alive', True):
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            except OSError:
                pass
        return server, state

    async def open_udp(self, loop, key, layout):
        # The listener state is the port's datagram protocol and, for the worker, its server too (close()).
        options = layout.listen_options or {}
        state = UdpListenerState(layout, *udp_options(layout))
        state.loop = loop
        sock = udp_socket(key[0], key[1], bool(options.get('reuse_port', self.reuse_port)))
        try:
            await loop.create_datagram_endpoint(state, sock=sock)
        except BaseException:
            sock.close()
            raise
        return state, state

    async def drain(self):
        loop = asyncio.get_running_loop()
        for server, state in self.listeners.values():
            server.close()
            state.drain()
        deadline = loop.time() + self.drain_timeout
        while loop.time() < deadline and any(state.connections for _, state in self.listeners.values()):
            await asyncio.sleep(0.02)
            for _, state in self.listeners.values():
                state.drain()
        for _, state in self.listeners.values():
            state.abort_all()
        await asyncio.sleep(0)
