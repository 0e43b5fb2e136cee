# Inbound connections: the asyncio protocol of an accepted socket. It runs one instance of its listener's layout,
# pushes what it reads into it and writes what comes out of it.

cdef class FileSender                  # native/sendfile.pxi
cdef class Demux                       # native/tunnel.pxi
cdef class Mux                         # native/tunnel.pxi


cdef void start_carrier(Pipeline p):
    # A stream that is simply carried on (connect or mux first) starts at once: the far side may speak first.
    first = p.first
    try:
        if isinstance(first, Connect):
            if (<Connect>first).state == 0:
                (<Connect>first).start()
        elif isinstance(first, Mux):
            (<Mux>first).begin()
    except Exception as e:
        report_error(e, None)


cdef class ListenerState:
    """What a listening port needs per connection: its current layout (swapped on reload) and its options."""
    cdef public PipelineLayout layout
    cdef public double idle_timeout
    cdef public set connections
    cdef public bint draining
    cdef public object loop

    def __init__(self, PipelineLayout layout, idle_timeout=60.0):
        self.layout = layout
        self.idle_timeout = idle_timeout or 0
        self.connections = set()
        self.draining = False
        self.loop = None

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
    """ctx.inbound: the addresses of the stream's connection."""
    __slots__ = ('remote_address', 'remote_port', 'local_address', 'local_port')

    def __init__(self, peer, local):
        self.remote_address, self.remote_port = (peer[0], peer[1]) if peer else (None, None)
        self.local_address, self.local_port = (local[0], local[1]) if local else (None, None)

    def __repr__(self):
        return '<inbound %s:%s -> %s:%s>' % (self.remote_address, self.remote_port, self.local_address, self.local_port)


cdef class Inbound(Endpoint):
    cdef ListenerState listener
    cdef FileSender sender               # a file span being sent; what the pipeline outputs meanwhile waits in it
    cdef PipelineLayout layout
    cdef Pipeline stream
    cdef bint input_ended
    cdef bint closed
    cdef unsigned long activity
    cdef unsigned long seen_activity
    cdef object idle_timer

    def connection_made(self, transport):
        self.transport = transport
        self.write = transport.write
        try:
            info = InboundInfo(transport.get_extra_info('peername'), transport.get_extra_info('sockname'))
        except Exception:
            info = None
        self.stream = self.layout.instantiate(Context(info), self)
        self.listener.connections.add(self)
        start_carrier(self.stream)
        if self.listener.idle_timeout > 0:
            self.idle_timer = self.listener.loop.call_later(self.listener.idle_timeout, self._idle_check)
        if self.listener.draining:
            self.drain()

    def data_received(self, data):
        global _dispatching
        self.activity += 1
        _dispatching += 1
        try:
            self.stream.on_event(Data.wrap(data))
        except Exception as e:
            report_error(e, None)
            self.abort()
        finally:
            _dispatching -= 1
        if _held and not _dispatching:
            flush_all_held()
        if _congested is not None:
            self.after_dispatch()

    def eof_received(self):
        self.input_ended = True
        try:
            self.stream.on_event(StreamEnd())
        except Exception as e:
            report_error(e, None)
            self.abort()
        return True                       # keep the writing side open until the pipeline ends the stream

    def connection_lost(self, exc):
        self.closed = True
        self.listener.connections.discard(self)
        if self.sender is not None:
            self.sender.stop()
            self.sender = None
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
            if d._more is None:
                if d._one is not None:
                    if type(d._one) is FileChunk:
                        return self.send_file(<FileChunk>d._one, None)
                    self.write(d._one)
            else:
                for i in range(len(d._more)):
                    if type(d._more[i]) is FileChunk:
                        if i:
                            self.transport.writelines(d._more[:i])
                        return self.send_file(<FileChunk>d._more[i], d._more[i + 1:])
                self.transport.writelines(d._more)
            if self.write_paused:
                self.note_congestion()
        elif isinstance(evt, StreamEnd):
            self.closed = True
            self.transport.close()
        return 0

    cdef int send_file(self, FileChunk f, list after) except -1:
        cdef FileSender s = FileSender.__new__(FileSender)
        s.inbound = self
        s.chunk = f
        s.backlog = []
        if after:
            d = Data.__new__(Data)
            for c in after:
                (<Data>d)._push_chunk(c)
            s.backlog.append(d)
        self.sender = s
        s.start()
        return 0

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
        if self.activity == self.seen_activity:
            self.abort()
            return
        self.seen_activity = self.activity
        self.idle_timer = self.listener.loop.call_later(self.listener.idle_timeout, self._idle_check)

    cdef void drain(self):
        cdef EventTarget first
        if self.closed or self.stream is None:
            return
        first = self.stream.first
        if isinstance(first, HttpServerBase):
            (<HttpServerBase>first).closing = True
            if (<HttpServerBase>first).current is None:
                (<HttpServerBase>first).decoder.state = S_DEAD
            (<HttpServerBase>first).flush()
        elif isinstance(first, Demux):
            (<Demux>first).drain()

    cpdef abort(self):
        if self.closed:
            return
        self.closed = True
        if self.transport is not None:
            self.transport.abort()
