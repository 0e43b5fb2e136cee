# Inbound connections: the asyncio protocol of an accepted socket. It runs one instance of its listener's layout,
# pushes what it reads into it and writes what comes out of it.

from posix.unistd cimport close as c_close, dup as c_dup
from libc.errno cimport errno

# Sockets this process has open (accepted and connected). At the descriptor limit the kernel and the event loop
# refuse new connections without a word; counting them lets pipyx say so, once per burst.
cdef Py_ssize_t _sockets_open = 0
cdef Py_ssize_t _fd_soft_limit = -1
cdef double _fd_warned_at = -1e9
cdef Py_ssize_t FD_HEADROOM = 32              # below the limit, where looking at the real count starts
cdef double FD_WARN_EVERY = 10.0


cdef void socket_opened():
    global _sockets_open, _fd_soft_limit
    _sockets_open += 1
    if _fd_soft_limit < 0:
        import resource
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        _fd_soft_limit = soft if soft != resource.RLIM_INFINITY and soft > 0 else 1 << 30
    if _sockets_open + FD_HEADROOM >= _fd_soft_limit:
        fd_pressure()


cdef inline void socket_closed() noexcept:
    global _sockets_open
    _sockets_open -= 1


cdef void fd_pressure():
    global _fd_warned_at
    cdef double t = now()
    if t - _fd_warned_at < FD_WARN_EVERY:
        return
    import os
    try:
        used = len(os.listdir('/proc/self/fd'))
    except OSError:
        used = _sockets_open
    if used + 8 >= _fd_soft_limit:
        _fd_warned_at = t
        log_warning('pipyx', 'out of file descriptors: %d of %d in use (%d connections); new connections are '
                    'refused until some close: raise the limit (ulimit -n, LimitNOFILE)' % (
                        used, _fd_soft_limit, _sockets_open))


cdef int SO_ORIGINAL_DST = 80          # linux/netfilter_ipv4.h; IP6T_SO_ORIGINAL_DST has the same number


cdef object original_destination(object transport, object info):
    # Where a connection redirected to this port (iptables REDIRECT/DNAT) was going: SO_ORIGINAL_DST. Without NAT
    # (TPROXY) the socket's own address is that destination already.
    info.destination_address, info.destination_port = info.local_address, info.local_port
    try:
        sock = transport.get_extra_info('socket')
        if sock.family == _socket.AF_INET:
            raw = sock.getsockopt(_socket.SOL_IP, SO_ORIGINAL_DST, 16)
            info.destination_address = _socket.inet_ntop(_socket.AF_INET, raw[4:8])
        else:
            raw = sock.getsockopt(_socket.IPPROTO_IPV6, SO_ORIGINAL_DST, 28)
            info.destination_address = _socket.inet_ntop(_socket.AF_INET6, raw[8:24])
        info.destination_port = int.from_bytes(raw[2:4], 'big')
    except OSError:
        pass
    return info


cdef class ListenerState:
    """What a listening port needs per connection: its current layout (swapped on reload) and its options."""

    def __init__(self, PipelineLayout layout, idle_timeout=60.0, linger_time=30.0, linger_timeout=5.0):
        self.layout = layout
        self.idle_timeout = idle_timeout or 0
        self.linger_time = linger_time or 0
        self.linger_timeout = linger_timeout or 0
        self.connections = set()
        self.draining = False
        self.loop = None
        self.on_close = None
        self.splice = True

    def __call__(self):
        # The protocol factory handed to loop.create_server.
        cdef Inbound c = Inbound.__new__(Inbound)
        c.listener = self
        c.layout = self.layout
        return c

    def drain(self):
        """Stop the connections gently: HTTP ones after their in-flight requests, idle ones now."""
        self.draining = True
        for c in list(self.connections):
            (<Inbound>c).drain()

    def abort_all(self):
        for c in list(self.connections):
            (<Inbound>c).abort()


class InboundInfo:
    """ctx.inbound: the addresses of the stream's connection; on a transparent listener, also where the client
    meant to connect (destination_*)."""
    __slots__ = ('remote_address', 'remote_port', 'local_address', 'local_port', 'destination_address',
                 'destination_port')

    def __init__(self, peer, local):
        self.remote_address, self.remote_port = (peer[0], peer[1]) if peer else (None, None)
        self.local_address, self.local_port = (local[0], local[1]) if local else (None, None)
        self.destination_address = self.destination_port = None

    def __repr__(self):
        return '<inbound %s:%s -> %s:%s>' % (self.remote_address, self.remote_port, self.local_address, self.local_port)


cdef class Inbound(Endpoint):

    def __cinit__(self):
        self.out_fd = -1

    def connection_made(self, transport):
        self.transport = transport
        self.write = transport.write
        self.use_socket(transport)
        try:
            info = InboundInfo(transport.get_extra_info('peername'), transport.get_extra_info('sockname'))
        except Exception:
            info = None
        if self.listener.transparent and info is not None:
            original_destination(transport, info)
        if self.listener.congestion_limit > 0:
            transport.set_write_buffer_limits(high=self.listener.congestion_limit)
        self.stream = self.layout.instantiate(Context(info), self)
        self.listener.connections.add(self)
        socket_opened()
        self.stream.start_early()
        if self.listener.idle_timeout > 0:
            self.idle_timer = self.listener.loop.call_later(self.listener.idle_timeout, self._idle_check)
        if self.listener.read_timeout > 0 or self.listener.write_timeout > 0:
            self.last_read_at = now()
            self.arm_deadlines()
        if self.listener.draining:
            self.drain()

    def data_received(self, data):
        self.activity += 1
        self.reads += 1
        if self.lingering:
            return                        # the answer is out; what the client still sends is read and dropped
        self.read_begins()
        try:
            self.stream.on_bytes(data)
        except Exception as e:
            report_error(e, None)
            self.abort()
        finally:
            self.read_ends()

    def eof_received(self):
        if self.lingering:
            return False                  # the client has read to our end and closes: so do we
        self.input_ended = True
        try:
            self.stream.on_event(StreamEnd())
        except Exception as e:
            report_error(e, None)
            self.abort()
        return True                       # keep the writing side open until the pipeline ends the stream

    def connection_lost(self, exc):
        self.closed = True
        if self.relay is not None:
            self.relay.stop()
        if self.stream is not None:
            socket_closed()
        self.listener.connections.discard(self)
        if self.listener.on_close is not None:
            self.listener.on_close()
        if self.deadline_timer is not None:
            self.deadline_timer.cancel()
            self.deadline_timer = None
        if self.sender is not None:
            self.sender.stop()
            self.sender = None
        self.close_sendfile_fd()
        if self.idle_timer is not None:
            self.idle_timer.cancel()
            self.idle_timer = None
        if self.stream is None:
            return
        try:
            if not self.input_ended:
                self.input_ended = True
                self.stream.on_event(StreamEnd('ConnectionReset' if exc is not None else None))
        except Exception as e:
            report_error(e, None)
        self.stream.shutdown()
        self.drained()

    def pause_writing(self):
        self.write_paused = True

    def resume_writing(self):
        self.drained()
        if self.sender is not None:
            self.sender.resume()

    cdef int on_event(self, Event evt) except -1:
        # What the pipeline outputs goes to the client.
        cdef Data d
        cdef Py_ssize_t i
        if self.closed:
            return 0
        if self.sender is not None:
            self.sender.backlog.append(evt)
            return 0
        if isinstance(evt, Data):
            self.activity += 1
            d = <Data>evt
            n = d.chunk_count()
            if n == 1:
                c = d.chunk_at(0)
                if type(c) is FileChunk:
                    return self.send_file(<FileChunk>c, None, None)
                self.send_bytes(c)
            elif n > 1:
                chunks = d.shared_chunks()
                for i in range(n):
                    if type(chunks[i]) is FileChunk:
                        return self.send_file(<FileChunk>chunks[i], chunks[i + 1:], chunks[:i] if i else None)
                self.send_chunks(chunks)
            if self.write_paused:
                self.sent_into_congestion()
        elif isinstance(evt, StreamEnd):
            self.closed = True
            if self.relay is not None:
                self.relay.stop()
            if (self.input_ended or (<StreamEnd>evt).error is not None or self.listener.linger_time <= 0
                    or not self.stream.input_unread()):
                self.transport.close()
            else:
                self.linger()
        return 0

    cdef int on_bytes(self, object b) except -1:
        if self.closed:
            return 0
        if self.sender is not None or type(b) is FileChunk:
            return self.on_event(Data.wrap(b))
        self.activity += 1
        self.send_bytes(b)
        if self.write_paused:
            self.sent_into_congestion()
        return 0

    cdef void sent_into_congestion(self):
        if self.listener.buffer_limit > 0 and self.transport.get_write_buffer_size() > self.listener.buffer_limit:
            log_warning('pipyx', 'connection from %s: more than buffer_limit (%d bytes) waiting to be sent, '
                        'closing it' % (self.transport.get_extra_info('peername'), self.listener.buffer_limit))
            self.end_with('BufferOverflow')
        else:
            self.note_congestion()

    cdef void linger(self):
        # Closing while the client may still be sending (a request refused before its body was read, a 431 for a
        # huge head) would reset the connection, and a reset can destroy the answer before the client reads it.
        # As nginx's lingering close does: send our end (FIN after what is queued), read and drop what still comes,
        # and close when the client closes, goes quiet for linger_timeout, or linger_time has passed.
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self.lingering = True
        self.transport.write_eof()
        if self.read_paused:
            self.read_paused = False
            self.resume_input()
        self.linger_until = now() + self.listener.linger_time
        if self.idle_timer is not None:
            self.idle_timer.cancel()
        self.seen_activity = self.activity
        self.idle_timer = self.listener.loop.call_later(self.linger_period(), self._linger_check)

    cdef double linger_period(self):
        cdef double t = self.listener.linger_timeout
        cdef double left = self.linger_until - now()
        if t <= 0 or left < t:
            t = left
        return t if t > 0 else 0

    def _linger_check(self):
        self.idle_timer = None
        if self.transport is None or self.transport.is_closing():
            return
        if self.activity == self.seen_activity or now() >= self.linger_until:
            self.transport.abort()
            return
        self.seen_activity = self.activity
        self.idle_timer = self.listener.loop.call_later(self.linger_period(), self._linger_check)

    cdef bint takes_file_spans(self):
        return True

    cdef int send_file(self, FileChunk f, list after, list before) except -1:
        cdef FileSender s = FileSender.__new__(FileSender)
        s.inbound = self
        s.chunk = f
        s.head = before
        s.backlog = []
        if after:
            d = Data.__new__(Data)
            for c in after:
                (<Data>d).append_chunk(c)
            s.backlog.append(d)
        self.sender = s
        s.start()
        return 0

    cdef int sendfile_fd(self) except -2:
        # A duplicate of the socket's descriptor, made once per connection: sendfile(2) writes to it and the loop
        # watches it for writability (the loop refuses to watch the transport's own). -1 for TLS: no sendfile.
        if self.out_fd == -1:
            sock = self.transport.get_extra_info('socket')
            if sock is None or self.transport.get_extra_info('sslcontext') is not None:
                self.out_fd = -2
            else:
                self.out_fd = c_dup(sock.fileno())
                if self.out_fd < 0:
                    self.out_fd = -1
                    raise OSError(errno, 'dup')
        return self.out_fd if self.out_fd >= 0 else -1

    cdef void close_sendfile_fd(self):
        if self.out_fd >= 0:
            c_close(self.out_fd)
        self.out_fd = -1

    def __dealloc__(self):
        if self.out_fd >= 0:
            c_close(self.out_fd)

    cdef int file_sent(self) except -1:
        # The span is out: what waited behind it goes now (it may hold another span).
        cdef FileSender s = self.sender
        self.sender = None
        for i in range(len(s.backlog)):
            if self.sender is not None:
                self.sender.backlog.extend(s.backlog[i:])
                break
            self.on_event(<Event>s.backlog[i])
        return 0

    def _idle_check(self):
        self.idle_timer = None
        if self.closed:
            return
        if self.activity == self.seen_activity and not self.stream.busy():
            self.abort()
            return
        self.seen_activity = self.activity
        self.idle_timer = self.listener.loop.call_later(self.listener.idle_timeout, self._idle_check)

    cdef void arm_deadlines(self):
        cdef double t = self.listener.read_timeout
        if self.listener.write_timeout > 0 and (t <= 0 or self.listener.write_timeout < t):
            t = self.listener.write_timeout
        self.deadline_timer = self.listener.loop.call_later(t / 4 if t > 0.4 else 0.1, self._check_deadlines)

    def _check_deadlines(self):
        # Checked every quarter of the shorter timeout: reads are counted, not timed, so a read costs nothing more.
        self.deadline_timer = None
        if self.closed or self.transport is None:
            return
        cdef double t = now()
        cdef Py_ssize_t waiting
        if self.reads != self.seen_reads:
            self.seen_reads = self.reads
            self.last_read_at = t
        elif self.listener.read_timeout > 0 and t - self.last_read_at >= self.listener.read_timeout:
            self.end_with('ReadTimeout')
            return
        if self.listener.write_timeout > 0:
            waiting = self.transport.get_write_buffer_size()
            if waiting == 0:
                self.write_stalled_since = 0
            else:
                if self.write_stalled_since == 0 or waiting < self.write_stalled_size:
                    self.write_stalled_since = t
                self.write_stalled_size = waiting
                if t - self.write_stalled_since >= self.listener.write_timeout:
                    self.end_with('WriteTimeout')
                    return
        self.arm_deadlines()

    cdef void end_with(self, str error):
        # The pipeline learns why its connection went, then the connection is reset, even if the pipeline closed
        # it meanwhile: a close would wait for the bytes in the send buffer to go.
        if not self.input_ended and self.stream is not None:
            self.input_ended = True
            try:
                self.stream.on_event(StreamEnd(error))
            except Exception as e:
                report_error(e, None)
        self.closed = True
        if self.relay is not None:
            self.relay.stop()
        if self.transport is not None:
            self.transport.abort()

    cdef void drain(self):
        if self.closed or self.stream is None:
            return
        self.stream.drain()

    cpdef abort(self):
        if self.closed and not self.lingering:
            return
        self.closed = True
        if self.relay is not None:
            self.relay.stop()
        if self.transport is not None:
            self.transport.abort()
