# connect(target): the stream's bytes go to a TCP connection, what comes back goes on down the pipeline.

import socket as _socket


cdef class ConnectOptions:
    """Timeouts (seconds; 0 means none) and the most bytes held while the connection is being made."""

    def __init__(self, connect_timeout=5.0, read_timeout=60.0, idle_timeout=300.0, buffer_limit=1024 * 1024,
                 write_timeout=0.0, congestion_limit=0, retry_count=0, retry_delay=0.0, keep_alive=True,
                 no_delay=True, bind=None, on_state=None):
        self.connect_timeout = connect_timeout or 0
        self.read_timeout = read_timeout or 0
        self.idle_timeout = idle_timeout or 0
        self.buffer_limit = buffer_limit
        self.write_timeout = write_timeout or 0
        self.congestion_limit = congestion_limit or 0
        self.retry_count = retry_count
        self.retry_delay = retry_delay or 0
        self.keep_alive = keep_alive
        self.no_delay = no_delay
        if bind is not None and not callable(bind):
            parse_bind(bind)                 # a bad address is the script's error, found as it loads
        self.bind = bind
        self.on_state = on_state


_parse_address = None


cdef tuple parse_target(object target):
    # The same text as listen() takes (pipyx/address.py), less the bare port: a target names its host.
    global _parse_address
    if isinstance(target, tuple):
        return (str(target[0]), int(target[1]))
    if _parse_address is None:
        from pipyx.address import parse_address as _parse_address
    host, port = _parse_address(str(target), None)
    if host is None:
        raise ValueError("connect target %r is not 'host:port'" % (target,))
    return (host, port)


_LoadBalancer = None


cdef bint is_balancer(object target):
    # connect(algo.RoundRobinLoadBalancer([...])): a stream takes its target from the balancer, not from the script.
    global _LoadBalancer
    if _LoadBalancer is None:
        from pipyx.algo import LoadBalancer as _LoadBalancer
    return isinstance(target, _LoadBalancer)


cdef object balancing_key(Context c):
    # What a hashing balancer hashes: the client's address, so one client keeps to one target.
    info = c.inbound if c is not None else None
    return getattr(info, 'remote_address', None) if info is not None else None


# The connected outgoing sockets, for pipyx.outbound(): one add and one discard per connection, nothing per event.
cdef set _outbound = set()


def outbound_connections():
    """The connect() endpoints whose socket is connected now."""
    return list(_outbound)


cdef tuple parse_bind(object bind):
    # The local end: 'ip:port', '[v6ip]:port', a bare 'ip' (any port) or an (ip, port) tuple.
    if isinstance(bind, tuple):
        return (str(bind[0]), int(bind[1]))
    text = str(bind).strip()
    if text.startswith('['):
        host, sep, rest = text[1:].partition(']')
        port = rest[1:] if rest.startswith(':') else '0'
    elif text.count(':') == 1:
        host, port = text.split(':')
    else:
        host, port = text, '0'
    try:
        n = int(port)
        _socket.inet_pton(_socket.AF_INET6 if ':' in host else _socket.AF_INET, host)
    except (ValueError, OSError):
        raise ValueError("connect bind %r is not 'ip:port' or 'ip'" % (bind,)) from None
    if not 0 <= n <= 65535:
        raise ValueError('connect bind %r: port %d is outside 0-65535' % (bind, n))
    return (host, n)


class OutboundInfo:
    """What connect's on_state callback is given: the connection's state ('connecting', 'connected', 'idle' while
    waiting to retry, 'closed'), the error it closed or failed with, its addresses, and the retries so far."""
    __slots__ = ('state', 'error', 'remote_address', 'remote_port', 'local_address', 'local_port', 'retries')

    def __init__(self):
        self.state = 'idle'
        self.error = None
        self.remote_address = self.remote_port = self.local_address = self.local_port = None
        self.retries = 0

    def __repr__(self):
        return '<outbound %s %s:%s%s>' % (self.state, self.remote_address, self.remote_port,
                                          ' %s' % self.error if self.error else '')


cdef class Connect(Endpoint):

    def __init__(self, target, ConnectOptions opts=None):
        self.target = target
        self.opts = opts if opts is not None else ConnectOptions()

    cdef Filter clone(self):
        cdef Connect f = Connect.__new__(Connect)
        f.target = self.target
        f.opts = self.opts
        return f

    def describe(self):
        return 'connect(%s)' % (self.target if not callable(self.target) else '<callable>')

    cdef int on_event(self, Event evt) except -1:
        cdef Data d
        if isinstance(evt, Data):
            d = <Data>evt
            if d.nbytes() == 0:
                return 0
            if self.state == C_CONNECTED:
                if d.chunk_count() == 1:
                    self.send_bytes(d.chunk_at(0))
                else:
                    self.send_chunks(d.shared_chunks())
                if not self.framed:
                    self.awaiting_reply = True
                self.last_write = now()
                if self.write_paused:
                    self.note_congestion()
            elif self.state == C_CLOSED:
                return 0
            else:
                self.hold_pending(d)
                if self.pending_size > self.opts.buffer_limit:
                    self.write_paused = True
                    self.note_congestion()
                if self.state == C_IDLE:
                    self.start()
            return 0
        if isinstance(evt, StreamEnd):
            if self.state == C_CONNECTED:
                if (<StreamEnd>evt).error is None and self.transport.can_write_eof():
                    # The sender is done: say so and keep reading until the peer closes too.
                    self.transport.write_eof()
                else:
                    self.close()
            elif self.state == C_CONNECTING:
                self.end_requested = True
            elif self.state == C_IDLE:
                # Ended before it began: nothing to connect for, and whoever waits downstream is told.
                self.state = C_CLOSED
                self.ended = True
                return self.output(evt)
            return 0
        if self.state == C_IDLE and isinstance(evt, MessageStart):
            self.start()
        return 0

    cdef int on_bytes(self, object b) except -1:
        if self.state != C_CONNECTED or len(b) == 0:
            return self.on_event(Data.wrap(b))
        self.send_bytes(b)
        if not self.framed:
            self.awaiting_reply = True
        self.last_write = now()
        if self.write_paused:
            self.note_congestion()
        return 0

    cdef void hold_pending(self, Data d):
        # Small pieces are joined as they come: a body of a million one-byte chunks must not become a million
        # buffers handed to the socket at once (the event loop refuses such a write).
        if self.pending is None:
            self.pending = []
        for i in range(d.chunk_count()):
            self.pending_tail = join_small(self.pending, self.pending_tail, d.chunk_at(i))
        self.pending_size += d.nbytes()

    cdef void expect_reply(self, bint owed):
        # From here on the client above says when an answer is owed (see Filter.expect_reply): a read no longer
        # settles it, so a peer that sends a status line and stalls still times out.
        self.framed = True
        self.awaiting_reply = owed

    cdef int start_early(self) except -1:
        if self.state == C_IDLE:
            self.start()
        return 0

    cdef object target_address(self):
        return self.target

    cdef void start(self):
        self.state = C_CONNECTING
        self.loop = _asyncio.get_event_loop()
        try:
            target = self.evaluate(self.target)
        except Exception as e:
            report_error(e, self.location)      # a callable target raised: an error in the script, like any other
            self.state = C_CLOSED
            self.loop.call_soon(self.fail, 'RuntimeError')
            return
        try:
            if is_balancer(target):
                self.balancer = target
                if self.pick_target() == 0:
                    self.state = C_CLOSED
                    self.loop.call_soon(self.fail, 'ConnectionRefused', 'the balancer has no target')
                    return
            else:
                self.address = parse_target(target)
        except Exception as e:
            self.state = C_CLOSED
            self.loop.call_soon(self.fail, 'CannotResolve', str(e))
            return
        if self.opts.bind is not None:
            try:
                self.local_address = parse_bind(self.evaluate(self.opts.bind))
            except Exception as e:
                report_error(e, self.location)
                self.state = C_CLOSED
                self.loop.call_soon(self.fail, 'RuntimeError')
                return
        self.task = self.loop.create_task(self._connect())

    cdef int pick_target(self) except -1:
        # The balancer's choice among the targets that have not failed this stream: 1 when there is one, 2 when all
        # had failed and they are tried again, 0 when the balancer has none at all. The choice counts as one open
        # stream of that target (least connections) until release_target().
        cdef int found = 1
        self.release_target()
        key = balancing_key(self.pipeline.context if self.pipeline is not None else None)
        a = self.balancer.allocate(key, self.tried)
        if a is None and self.tried:
            self.tried = None
            found = 2
            a = self.balancer.allocate(key, None)
        if a is None:
            return 0
        self.allocation = a
        self.address = parse_target(a.target)
        return found

    cdef void release_target(self):
        if self.allocation is not None:
            a, self.allocation = self.allocation, None
            a.free()

    async def _connect(self):
        cdef int picked
        host, port = self.address
        try:
            while True:
                self.report_state('connecting', None)
                try:
                    made = self.loop.create_connection(lambda: self, host, port, local_addr=self.local_address)
                    if self.opts.connect_timeout > 0:
                        await _asyncio.wait_for(made, self.opts.connect_timeout)
                    else:
                        await made
                    return
                except _asyncio.TimeoutError:
                    error, detail = 'ConnectionTimeout', 'no connection within %gs' % self.opts.connect_timeout
                except _socket.gaierror as e:
                    error, detail = 'CannotResolve', e.strerror or str(e)
                except ConnectionRefusedError:
                    error, detail = 'ConnectionRefused', None
                except _asyncio.CancelledError:
                    self.fail('ConnectionReset')
                    return
                except OSError as e:
                    error, detail = 'ConnectionRefused', e.strerror or str(e)
                if self.ended:
                    return
                if 0 <= self.opts.retry_count <= self.retries:
                    self.fail(error, detail)
                    return
                # Retried as Pipy does: each failure is logged, and the held data waits for the next attempt. With a
                # balancer the next attempt goes to another target at once; retry_delay is waited only when every
                # target has failed this stream.
                self.retries += 1
                picked = 2
                if self.balancer is not None:
                    if self.tried is None:
                        self.tried = set()
                    self.tried.add(self.allocation.target)
                    try:
                        picked = self.pick_target()
                    except ValueError as e:
                        self.fail('CannotResolve', str(e))
                        return
                    if picked == 0:
                        self.fail(error, detail)
                        return
                log_warning('pipyx.connect', 'connect %s:%s: %s%s, retrying (%d)%s' % (
                    host, port, error, ' (%s)' % detail if detail else '', self.retries,
                    ' with %s:%s' % self.address if picked == 1 else ''))
                self.report_state('idle', error)
                if self.opts.retry_delay > 0 and picked == 2:
                    await _asyncio.sleep(self.opts.retry_delay)
                if self.ended:
                    return
                host, port = self.address
        except _asyncio.CancelledError:
            self.fail('ConnectionReset')
        finally:
            self.task = None

    cdef void report_state(self, str state, object error):
        # on_state(outbound), once per change of state, with ctx pointing at this stream.
        if self.opts.on_state is None or state == self.reported_state:
            return
        self.reported_state = state
        if self.outbound is None:
            self.outbound = OutboundInfo()
        info = self.outbound
        info.state = state
        info.error = error
        info.retries = self.retries
        if self.address is not None:
            info.remote_address, info.remote_port = self.address
        if state == 'connected' and self.transport is not None:
            try:
                local = self.transport.get_extra_info('sockname')
                info.local_address, info.local_port = local[0], local[1]
            except Exception:
                pass
        try:
            self.call(self.opts.on_state, info)
        except Exception as e:
            report_error(e, self.location)

    def fail(self, error, detail=None):
        if self.ended:
            return
        self.ended = True
        self.state = C_CLOSED
        self.pending = None
        self.pending_tail = None
        self.release_target()
        if error != 'RuntimeError':           # (that one was reported with the script's line)
            log_warning('pipyx.connect', 'connect %s: %s%s' % (
                '%s:%s' % self.address if self.address is not None else self.target, error,
                ' (%s)' % detail if detail else ''))
        self.drained()
        self.report_state('closed', error)
        try:
            self.output(StreamEnd(error))
        except Exception as e:
            report_error(e, self.location)

    def connection_made(self, transport):
        socket_opened()
        if self.state == C_CLOSED:
            transport.abort()
            return
        self.transport = transport
        self.write = transport.write
        self.state = C_CONNECTED
        self.use_socket(transport)
        _outbound.add(self)
        try:
            sock = transport.get_extra_info('socket')
            if self.opts.no_delay:
                sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
            if self.opts.keep_alive:
                sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_KEEPALIVE, 1)
        except Exception:
            pass
        if self.opts.congestion_limit > 0:
            transport.set_write_buffer_limits(high=self.opts.congestion_limit)
        self.report_state('connected', None)
        self.last_read = now()
        if self.pending:
            pending, self.pending = self.pending, None
            self.pending_tail = None
            self.pending_size = 0
            self.send_chunks(pending)
            if not self.framed:
                self.awaiting_reply = True
            self.last_write = self.last_read
        self.drained()
        if self.end_requested:
            if transport.can_write_eof():
                transport.write_eof()     # the sender finished while we were connecting: half-close, as below
            else:
                self.close()
        self.arm_timer()
        if self.state == C_CONNECTED and isinstance(self.next, Inbound) and (<Inbound>self.next).listener.splice:
            # Not from here: the event loop starts reading the socket after connection_made returns, which would
            # undo the relay's pause and race it for the bytes.
            self.loop.call_soon(self._relay_if_possible)

    cdef void arm_timer(self):
        cdef double t = self.opts.read_timeout
        if self.opts.idle_timeout > 0 and (t == 0 or self.opts.idle_timeout < t):
            t = self.opts.idle_timeout
        if self.opts.write_timeout > 0 and (t == 0 or self.opts.write_timeout < t):
            t = self.opts.write_timeout
        if t > 0 and self.timer is None and self.state == C_CONNECTED:
            self.timer = self.loop.call_later(t / 4 if t > 0.4 else 0.1, self._check_timeouts)

    def _check_timeouts(self):
        self.timer = None
        if self.state != C_CONNECTED:
            return
        cdef double t_now = now()
        if self.awaiting_reply and self.opts.read_timeout > 0 and \
                t_now - max(self.last_write, self.last_read) >= self.opts.read_timeout:
            self.abort_with('ReadTimeout')
            return
        if self.opts.idle_timeout > 0 and t_now - max(self.last_read, self.last_write) >= self.opts.idle_timeout:
            self.abort_with('IdleTimeout')
            return
        if self.opts.write_timeout > 0 and self.write_stalled(t_now):
            self.abort_with('WriteTimeout')
            return
        self.arm_timer()

    cdef bint write_stalled(self, double t_now):
        # Bytes have waited in the send buffer for write_timeout without the buffer getting any smaller.
        cdef Py_ssize_t waiting = self.transport.get_write_buffer_size() if self.transport is not None else 0
        if waiting == 0:
            self.write_stalled_since = 0
            return False
        if self.write_stalled_since == 0 or waiting < self.write_stalled_size:
            self.write_stalled_since = t_now
        self.write_stalled_size = waiting
        return t_now - self.write_stalled_since >= self.opts.write_timeout

    cdef void abort_with(self, str error):
        self.state = C_CLOSED
        if self.relay is not None:
            self.relay.stop()
        if self.transport is not None:
            self.transport.abort()
        self.fail(error)

    def data_received(self, data):
        if not self.framed:
            self.awaiting_reply = False
        self.last_read = now()
        self.read_begins()
        try:
            self.output_bytes(data)
        except Exception as e:
            report_error(e, self.location)
            self.abort_with('RuntimeError')
        finally:
            self.read_ends()

    def eof_received(self):
        return False

    def connection_lost(self, exc):
        socket_closed()
        _outbound.discard(self)
        self.release_target()
        if self.relay is not None:
            self.relay.stop()
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.state = C_CLOSED
        self.transport = None
        self.report_state('closed', 'ConnectionReset' if exc is not None else None)
        if not self.ended:
            self.ended = True
            self.drained()
            try:
                self.output(StreamEnd('ConnectionReset' if exc is not None else None))
            except Exception as e:
                report_error(e, self.location)

    def pause_writing(self):
        self.write_paused = True

    def resume_writing(self):
        self.drained()

    def _relay_if_possible(self):
        if self.state == C_CONNECTED and self.relay is None and self.transport is not None:
            try_splice_relay(self)

    cdef bint relays_bytes(self):
        # What reaches a connected TCP connect() goes out as it came, and what it reads comes out as it came.
        return self.state == C_CONNECTED and self.fd >= 0

    cdef void close(self):
        self.state = C_CLOSED
        if self.relay is not None:
            self.relay.stop()
        if self.transport is not None:
            self.transport.close()

    cdef void shutdown(self):
        self.ended = True
        self.release_target()
        if self.relay is not None:
            self.relay.stop()
        if self.state == C_CONNECTING or self.state == C_CONNECTED:
            self.report_state('closed', None)
        if self.task is not None:
            self.task.cancel()
            self.task = None
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.transport is not None:
            self.transport.close()
            self.transport = None
        self.state = C_CLOSED
