# accept_proxy_protocol and connect_proxy_protocol: the PROXY protocol's header (codecs/proxy_protocol.pxi) read
# from the front of an accepted stream, or written in front of an outgoing one.


class ProxiedInbound(InboundInfo):
    """ctx.inbound after accept_proxy_protocol: remote_address/remote_port are the client's as the PROXY header gives
    them (its source), local_address/local_port the address the client connected to (its destination).
    proxy_header is the ProxyHeader itself (version, command, transport, tlvs), and via the InboundInfo of the
    connection it came over (the proxy's). A LOCAL or UNKNOWN header keeps the connection's own addresses."""
    __slots__ = ('proxy_header', 'via')

    def __init__(self, ProxyHeader h, via):
        self.proxy_header = h
        self.via = via
        if h.source_address is not None and h.transport not in ('UNIX', 'UNIX_DGRAM'):
            self.remote_address, self.remote_port = h.source_address, h.source_port
            self.local_address, self.local_port = h.destination_address, h.destination_port
        elif via is not None:
            self.remote_address, self.remote_port = via.remote_address, via.remote_port
            self.local_address, self.local_port = via.local_address, via.local_port
        else:
            self.remote_address = self.remote_port = self.local_address = self.local_port = None

    @property
    def tlvs(self):
        return self.proxy_header.tlvs


cdef class AcceptProxyProtocol(Filter):
    """accept_proxy_protocol(): the stream starts with a PROXY protocol header (v1 or v2). It is read and taken off,
    ctx.inbound becomes a ProxiedInbound, on_header(header) may refuse it by returning False, and the rest of the
    stream goes through the sub-pipeline, whose output is this filter's. A stream without a valid header is closed
    with one log line."""

    def __init__(self, LayoutRef target, on_header=None, Py_ssize_t max_header_size=4096):
        self.target = target
        self.on_header = on_header
        self.max_header_size = max_header_size

    cdef Filter clone(self):
        cdef AcceptProxyProtocol f = AcceptProxyProtocol.__new__(AcceptProxyProtocol)
        f.target = self.target
        f.on_header = self.on_header
        f.max_header_size = self.max_header_size
        return f

    def sub_layouts(self):
        return (self.target,)

    def describe(self):
        return 'accept_proxy_protocol -> %s' % self.target.name

    cdef int on_event(self, Event evt) except -1:
        cdef int r
        if self.sub is not None:
            return self.sub.on_event(evt)
        if self.refused:
            return 0
        if self.held is not None:
            self.held.append(evt)
            return 0
        if isinstance(evt, Data):
            if self.parser is None:
                self.parser = ProxyHeaderParser(self.max_header_size)
            r = self.parser.feed((<Data>evt).to_bytes())
            if r < 0:
                return self.refuse(self.parser.error)
            if r > 0:
                return self.header_read()
            return 0
        if isinstance(evt, StreamEnd):
            self.refused = True
            return self.output(evt)          # gone before its header: nothing to pass on
        return 0

    cdef int header_read(self) except -1:
        cdef ProxyHeaderParser p = self.parser
        cdef Context c = self.pipeline.context
        self.parser = None
        c.inbound = ProxiedInbound(p.header, c.inbound)
        ok = None
        if self.on_header is not None:
            try:
                ok = self.call(self.on_header, p.header)
            except Exception as e:
                self.refused = True
                return self.fail_stream(e)
            if is_awaitable(ok):
                self.held = [Data.wrap(p.rest)] if p.rest else []
                self.spawn(ok, self._decided)
                return 0
        return self.accept(ok, p.rest)

    cdef int accept(self, object ok, bytes rest) except -1:
        if ok is False:
            return self.refuse('refused by on_header: %r' % (self.pipeline.context.inbound.proxy_header,))
        self.sub = self.sub_pipeline(self.target, self.next)
        if rest:
            self.sub.on_event(Data.wrap(rest))
        return 0

    def _decided(self, task):
        held, self.held = self.held, None
        if self.refused or task.cancelled():
            return                            # the stream went away meanwhile
        dispatch_begins()
        try:
            try:
                ok = task.result()
            except Exception as e:
                self.refused = True
                self.fail_stream(e)
                return
            self.accept(ok, None)
            for e in held:
                self.on_event(<Event>e)
        except Exception as e:
            self.refused = True
            self.fail_stream(e)
        finally:
            dispatch_ends()

    cdef int refuse(self, str why) except -1:
        self.refused = True
        self.parser = None
        info = self.pipeline.context.inbound if self.pipeline is not None else None
        log_warning('pipyx.proxy_protocol', 'connection%s refused: %s' % (
            ' from %s:%s' % (info.remote_address, info.remote_port) if info is not None else '', why))
        return self.output(StreamEnd('ProtocolError'))

    # First in a connection's pipeline, this filter answers for its sub-pipeline once the header is read (an HTTP
    # server behind a PROXY header is still an HTTP server to the listener).
    cdef void drain(self):
        if self.sub is not None:
            self.sub.drain()

    cdef bint busy(self):
        return self.sub is not None and self.sub.busy()

    cdef bint input_unread(self):
        return self.sub is None or self.sub.input_unread()

    cdef bint relays_bytes(self):
        # Once the header is read and accepted, the rest of the stream is the sub-pipeline's, as it comes.
        return self.sub is not None and self.held is None and not self.refused and self.sub.relays_bytes()

    cdef void shutdown(self):
        self.refused = True
        self.held = None
        if self.sub is not None:
            self.sub.shutdown()


cdef class ConnectProxyProtocol(Filter):
    """connect_proxy_protocol(version): a PROXY protocol header goes into the sub-pipeline (typically connect()) ahead
    of the stream's first byte, with the addresses of ctx.inbound or those the addresses callback gives; what the
    sub-pipeline outputs is this filter's output."""

    def __init__(self, LayoutRef target, int version=1, addresses=None, tlvs=None):
        if version not in (1, 2):
            raise ValueError('connect_proxy_protocol: version is 1 or 2, not %r' % (version,))
        self.target = target
        self.version = version
        self.addresses = addresses
        self.tlvs = tlvs

    cdef Filter clone(self):
        cdef ConnectProxyProtocol f = ConnectProxyProtocol.__new__(ConnectProxyProtocol)
        f.target = self.target
        f.version = self.version
        f.addresses = self.addresses
        f.tlvs = self.tlvs
        return f

    def sub_layouts(self):
        return (self.target,)

    def describe(self):
        return 'connect_proxy_protocol(v%d) -> %s' % (self.version, self.target.name)

    cdef int start_early(self) except -1:
        # The far side may speak first: connect now, the header going out as soon as the connection is made.
        if self.sub is None:
            self.begin()
            if self.sub is not None:
                self.sub.start_early()
        return 0

    cdef int begin(self) except -1:
        source = destination = None
        try:
            if self.addresses is not None:
                given = self.call0(self.addresses)
                if given is not None:
                    source, destination = given
            else:
                info = self.pipeline.context.inbound
                if info is not None and info.remote_address is not None and info.local_address is not None:
                    source = (info.remote_address, info.remote_port)
                    destination = (info.local_address, info.local_port)
            tlvs = self.evaluate(self.tlvs) if self.version == 2 else None
            self.sub = self.sub_pipeline(self.target, self.next)
            head = self.sub.first_filter()
            # Toward a UDP target the header says DGRAM and rides in the first datagram, as the specification's
            # UDP4/UDP6 families mean it (a datagram of its own would reach the server as a message without one).
            datagrams = isinstance(head, ConnectUDP)
            header = encode_proxy_header(self.version, source, destination, 'UDP' if datagrams else None, tlvs)
        except Exception as e:
            self.failed = True
            if self.sub is not None:
                self.sub.shutdown()
                self.sub = None
            return self.fail_stream(e)
        if datagrams:
            (<ConnectUDP>head).header = header
            return 0
        return self.sub.on_event(Data.wrap(header))

    cdef int on_event(self, Event evt) except -1:
        if self.sub is None:
            if self.failed:
                return 0
            if isinstance(evt, StreamEnd):
                return self.output(evt)
            self.begin()
            if self.sub is None:
                return 0
        return self.sub.on_event(evt)

    cdef bint relays_bytes(self):
        # Once the header went in, the stream passes as it is.
        return self.sub is not None and self.sub.relays_bytes()

    cdef void shutdown(self):
        if self.sub is not None:
            self.sub.shutdown()
