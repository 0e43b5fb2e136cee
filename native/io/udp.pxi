# UDP: the protocols of a listening UDP port and of connect(target, protocol='udp'). A datagram is one message
# (MessageStart, Data, MessageEnd), never merged with another or split; a message a pipeline outputs is one datagram.
# UDP has no connections, so a listener makes a stream per peer address, ended when the peer has been silent for
# idle_timeout, and caps how many there are: a flood of new source addresses cannot grow memory without limit.

cdef double UDP_DROP_WARN_EVERY = 10.0


cdef class UdpListenerState:
    """The protocol of a listening UDP port (loop.create_datagram_endpoint) and what its streams share: the current
    layout (swapped on reload), idle_timeout, max_peers and the streams by peer address."""

    def __init__(self, PipelineLayout layout, idle_timeout=60.0, max_peers=10000):
        self.layout = layout
        self.idle_timeout = idle_timeout or 0
        self.max_peers = max_peers
        self.connections = {}
        self.draining = False
        self.dropped_warned_at = -1e9

    def __call__(self):
        return self

    def connection_made(self, transport):
        self.transport = transport
        self.local = transport.get_extra_info('sockname')

    def datagram_received(self, data, addr):
        cdef UdpPeer peer = self.connections.get(addr)
        cdef double t
        if peer is None:
            if self.draining:
                return
            if len(self.connections) >= self.max_peers:
                # A new peer beyond the cap is not served: those already served go on undisturbed.
                self.dropped += 1
                t = now()
                if t - self.dropped_warned_at >= UDP_DROP_WARN_EVERY:
                    self.dropped_warned_at = t
                    log_warning('pipyx.udp', 'udp %s:%s: %d peers, the most max_peers allows: datagrams from new '
                                'peers are dropped (%d so far)' % (self.local[0], self.local[1], len(self.connections),
                                                                   self.dropped))
                return
            peer = UdpPeer.__new__(UdpPeer)
            peer.listener = self
            peer.address = addr
            self.connections[addr] = peer
            peer.stream = self.layout.instantiate(Context(InboundInfo(addr, self.local)), peer)
            self.arm_sweeper()
        peer.last_active = now()
        dispatch_begins()
        try:
            peer.stream.on_event(new_start(None))
            peer.stream.on_event(Data.wrap(data))
            peer.stream.on_event(new_end())
        except Exception as e:
            report_error(e, None)
            peer.close()
        finally:
            dispatch_ends()
            swap_congested(None)          # a datagram socket is never paused: nothing waits for a congested peer

    def error_received(self, exc):
        pass                              # (an ICMP error about a datagram to a peer gone away: nothing to do)

    cdef void send_empty(self, object address) except *:
        # The event loop's sendto() drops an empty datagram without a word; UDP carries them (a keep-alive, an
        # empty DNS-over-UDP probe), so they go out through a socket of our own on the same port.
        if self.empty_sender is None:
            sock = self.transport.get_extra_info('socket')
            self.empty_sender = _socket.socket(sock.family, _socket.SOCK_DGRAM, 0, _os.dup(sock.fileno()))
            self.empty_sender.setblocking(False)
        self.empty_sender.sendto(b'', address)

    def connection_lost(self, exc):
        if self.empty_sender is not None:
            self.empty_sender.close()
            self.empty_sender = None
        self.abort_all()

    cdef void arm_sweeper(self):
        cdef double t = self.idle_timeout
        if t > 0 and self.sweeper is None and self.loop is not None:
            self.sweeper = self.loop.call_later(t / 4 if t > 0.4 else 0.1, self._sweep)

    def _sweep(self):
        # One timer for all the peers of a port rather than one each.
        cdef UdpPeer p
        cdef double limit = now() - self.idle_timeout
        self.sweeper = None
        for p in list(self.connections.values()):
            if p.last_active <= limit:
                p.end_input()
        if self.connections:
            self.arm_sweeper()

    def drain(self):
        """Stop: every peer's stream ends now (UDP has nothing in flight to wait for)."""
        self.draining = True
        for p in list(self.connections.values()):
            (<UdpPeer>p).end_input()

    def abort_all(self):
        for p in list(self.connections.values()):
            (<UdpPeer>p).close()
        if self.sweeper is not None:
            self.sweeper.cancel()
            self.sweeper = None

    def close(self):
        """Closes the port's socket (the worker's handle on a listener, as a server's close())."""
        if self.transport is not None:
            self.transport.close()

    @property
    def sockets(self):
        sock = self.transport.get_extra_info('socket') if self.transport is not None else None
        return [sock] if sock is not None else []


cdef class UdpPeer(EventTarget):

    cdef int on_event(self, Event evt) except -1:
        # What the peer's stream outputs goes back to it: a message as one datagram, Data outside one as its own.
        cdef Data d
        if self.closed:
            return 0
        if isinstance(evt, Data):
            d = <Data>evt
            if self.body is not None:
                for i in range(d.chunk_count()):
                    self.body.append(d.chunk_at(i))
            elif d.nbytes():
                self.send(d.to_bytes())
        elif isinstance(evt, MessageStart):
            self.body = []
        elif isinstance(evt, MessageEnd):
            if self.body is not None:
                body, self.body = self.body, None
                self.send(body[0] if len(body) == 1 and type(body[0]) is bytes else b''.join(body))
        elif isinstance(evt, StreamEnd):
            self.close()
        return 0

    cdef void send(self, object b):
        self.last_active = now()
        try:
            if len(b):
                self.listener.transport.sendto(b, self.address)
            else:
                self.listener.send_empty(self.address)
        except Exception as e:
            log_warning('pipyx.udp', 'udp reply of %d bytes to %s:%s: %s' % (len(b), self.address[0],
                                                                            self.address[1], e))

    cdef void end_input(self):
        # The peer went quiet (or the port is stopping): its stream's input ends, then the stream goes.
        if self.closed:
            return
        try:
            self.stream.on_event(StreamEnd())
        except Exception as e:
            report_error(e, None)
        self.close()

    cdef void close(self):
        if self.closed:
            return
        self.closed = True
        if self.listener.connections.get(self.address) is self:
            del self.listener.connections[self.address]
        if self.stream is not None:
            self.stream.shutdown()


cdef class ConnectUDP(Filter):
    """connect(target, protocol='udp'): a UDP socket connected to target for the stream. Each message the stream
    sends is one datagram (Data outside a message is one too); each datagram that comes back is output as a message.
    The stream ends when its input does, after idle_timeout with no datagram either way (IdleTimeout), or when the
    target's port is closed (ConnectionRefused)."""

    def __init__(self, target, ConnectOptions opts=None):
        self.target = target
        self.opts = opts if opts is not None else ConnectOptions()

    cdef Filter clone(self):
        cdef ConnectUDP f = ConnectUDP.__new__(ConnectUDP)
        f.target = self.target
        f.opts = self.opts
        return f

    def describe(self):
        return 'connect(%s, udp)' % (self.target if not callable(self.target) else '<callable>')

    cdef int on_event(self, Event evt) except -1:
        cdef Data d
        if self.ended:
            return 0
        if isinstance(evt, Data):
            d = <Data>evt
            if self.body is not None:
                for i in range(d.chunk_count()):
                    self.body.append(d.chunk_at(i))
            elif d.nbytes():
                self.datagram(d.to_bytes())
        elif isinstance(evt, MessageStart):
            self.body = []
            if self.state == C_IDLE:
                self.start()
        elif isinstance(evt, MessageEnd):
            if self.body is not None:
                body, self.body = self.body, None
                self.datagram(body[0] if len(body) == 1 and type(body[0]) is bytes else b''.join(body))
        elif isinstance(evt, StreamEnd):
            self.close()
            self.ended = True
            return self.output(StreamEnd())
        return 0

    cdef void datagram(self, object b):
        if self.header is not None:
            b = self.header + bytes(b)
            self.header = None
        if self.state == C_CONNECTED:
            self.last_active = now()
            try:
                if len(b):
                    self.transport.sendto(b)
                    self.bytes_out += len(b)
                elif c_send(self.transport.get_extra_info('socket').fileno(), NULL, 0, MSG_NOSIGNAL) < 0:
                    # (the event loop's sendto() would drop it unsent: UDP carries empty datagrams, so do we)
                    raise OSError(errno, 'empty datagram')
            except Exception as e:
                log_warning('pipyx.connect', 'udp %s:%s: datagram of %d bytes not sent: %s' % (
                    self.address[0], self.address[1], len(b), e))
        elif self.state != C_CLOSED:
            if self.pending_size + len(b) > self.opts.buffer_limit:
                return                    # held while connecting, up to buffer_limit: UDP may drop, so it does
            if self.pending is None:
                self.pending = []
            self.pending.append(b)
            self.pending_size += len(b)
            if self.state == C_IDLE:
                self.start()

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
            if is_balancer(target):
                # One target per stream (per client address on a UDP listener), counted open until the stream ends.
                self.allocation = target.allocate(balancing_key(self.pipeline.context if self.pipeline is not None
                                                                else None))
                if self.allocation is None:
                    raise ValueError('the balancer has no target')
                target = self.allocation.target
            self.address = parse_target(target)
        except Exception as e:
            self.state = C_CLOSED
            self.loop.call_soon(self.fail, 'CannotResolve', str(e))
            return
        self.task = self.loop.create_task(self._open())

    async def _open(self):
        host, port = self.address
        try:
            coro = self.loop.create_datagram_endpoint(lambda: self, remote_addr=(host, port))
            if self.opts.connect_timeout > 0:
                await _asyncio.wait_for(coro, self.opts.connect_timeout)
            else:
                await coro
        except _asyncio.TimeoutError:
            self.fail('ConnectionTimeout', 'no address within %gs' % self.opts.connect_timeout)
        except _socket.gaierror as e:
            self.fail('CannotResolve', e.strerror or str(e))
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
        self.close()
        if error != 'IdleTimeout':        # (the usual end of a UDP exchange: not worth a line)
            log_warning('pipyx.connect', 'connect udp %s: %s%s' % (
                '%s:%s' % self.address if self.address is not None else self.target, error,
                ' (%s)' % detail if detail else ''))
        try:
            self.output(StreamEnd(error))
        except Exception as e:
            report_error(e, self.location)

    def connection_made(self, transport):
        socket_opened()
        if self.state == C_CLOSED:
            transport.close()
            return
        self.transport = transport
        self.state = C_CONNECTED
        self.last_active = now()
        self.opened_at = _time.time()
        _outbound.add(self)
        if self.pending:
            pending, self.pending = self.pending, None
            self.pending_size = 0
            for b in pending:
                self.datagram(b)
        self.arm_timer()

    def datagram_received(self, data, addr):
        if self.ended:
            return
        self.last_active = now()
        self.bytes_in += len(data)
        dispatch_begins()
        try:
            self.output(new_start(None))
            self.output(Data.wrap(data))
            self.output(new_end())
        except Exception as e:
            report_error(e, self.location)
        finally:
            dispatch_ends()
            swap_congested(None)

    def error_received(self, exc):
        # On a connected socket the kernel reports the ICMP error of an earlier datagram: the port is closed.
        if isinstance(exc, ConnectionRefusedError):
            self.fail('ConnectionRefused')

    def connection_lost(self, exc):
        socket_closed()
        _outbound.discard(self)
        self.transport = None
        self.state = C_CLOSED
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def connection_info(self):
        """(transport, opened_at) while the socket is open, else None: what pipyx.outbound() lists."""
        if self.transport is None or self.opened_at == 0:
            return None
        return self.transport, self.opened_at

    def datagram_bytes(self):
        """(received, sent): the bytes of the datagrams so far (UDP has no kernel count to ask)."""
        return self.bytes_in, self.bytes_out

    cdef void arm_timer(self):
        cdef double t = self.opts.idle_timeout
        if t > 0 and self.timer is None and self.state == C_CONNECTED:
            self.timer = self.loop.call_later(t / 4 if t > 0.4 else 0.1, self._check_idle)

    def _check_idle(self):
        self.timer = None
        if self.state != C_CONNECTED:
            return
        if now() - self.last_active >= self.opts.idle_timeout:
            self.fail('IdleTimeout')
            return
        self.arm_timer()

    cdef void close(self):
        self.state = C_CLOSED
        self.pending = None
        if self.allocation is not None:
            a, self.allocation = self.allocation, None
            a.free()
        if self.task is not None:
            if self.task is not _asyncio.current_task():
                self.task.cancel()
            self.task = None
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.transport is not None:
            self.transport.close()
            self.transport = None

    cdef void shutdown(self):
        self.ended = True
        self.close()
