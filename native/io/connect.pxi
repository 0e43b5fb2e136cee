# connect(target): the stream's bytes go to a TCP connection, what comes back goes on down the pipeline.

import socket as _socket


cdef class ConnectOptions:
    """Timeouts (seconds; 0 means none) and the most bytes held while the connection is being made."""

    def __init__(self, connect_timeout=5.0, read_timeout=60.0, idle_timeout=300.0, buffer_limit=1024 * 1024):
        self.connect_timeout = connect_timeout or 0
        self.read_timeout = read_timeout or 0
        self.idle_timeout = idle_timeout or 0
        self.buffer_limit = buffer_limit


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


# The connected outgoing sockets, for pipyx.outbound(): one add and one discard per connection, nothing per event.
cdef set _outbound = set()


def outbound_connections():
    """The connect() endpoints whose socket is connected now."""
    return list(_outbound)


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
            self.address = parse_target(target)
        except Exception as e:
            self.state = C_CLOSED
            self.loop.call_soon(self.fail, 'CannotResolve', str(e))
            return
        self.task = self.loop.create_task(self._connect())

    async def _connect(self):
        host, port = self.address
        try:
            if self.opts.connect_timeout > 0:
                await _asyncio.wait_for(self.loop.create_connection(lambda: self, host, port),
                                        self.opts.connect_timeout)
            else:
                await self.loop.create_connection(lambda: self, host, port)
        except _asyncio.TimeoutError:
            self.fail('ConnectionTimeout', 'no connection within %gs' % self.opts.connect_timeout)
        except _socket.gaierror as e:
            self.fail('CannotResolve', e.strerror or str(e))
        except ConnectionRefusedError:
            self.fail('ConnectionRefused')
        except _asyncio.CancelledError:
            self.fail('ConnectionReset')
        except OSError as e:
            self.fail('ConnectionRefused', e.strerror or str(e))
        finally:
            self.task = None

    def fail(self, error, detail=None):
        if self.ended:
            return
        self.ended = True
        self.state = C_CLOSED
        self.pending = None
        self.pending_tail = None
        if error != 'RuntimeError':           # (that one was reported with the script's line)
            log_warning('pipyx.connect', 'connect %s: %s%s' % (
                '%s:%s' % self.address if self.address is not None else self.target, error,
                ' (%s)' % detail if detail else ''))
        self.drained()
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
            transport.get_extra_info('socket').setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
        except Exception:
            pass
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

    cdef void arm_timer(self):
        cdef double t = self.opts.read_timeout
        if self.opts.idle_timeout > 0 and (t == 0 or self.opts.idle_timeout < t):
            t = self.opts.idle_timeout
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
        self.arm_timer()

    cdef void abort_with(self, str error):
        self.state = C_CLOSED
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
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.state = C_CLOSED
        self.transport = None
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

    cdef void close(self):
        self.state = C_CLOSED
        if self.transport is not None:
            self.transport.close()

    cdef void shutdown(self):
        self.ended = True
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
