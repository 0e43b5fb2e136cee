# accept_tls: terminates TLS. The stream's bytes are a client's records; once the handshake is done, the plain bytes
# go through an instance of the sub-pipeline (sharing the stream's context, where ctx.tls tells what the handshake
# settled), and what it outputs goes back to the client encrypted. The engine is io/tls.pxi.


cdef class AcceptTLS(TlsFilter):
    """accept_tls(certificate=..., ...).to(layout): TLS from a client, the sub-pipeline on the plain side."""

    def __init__(self, TlsContext config, LayoutRef target, handshake=None, double handshake_timeout=10.0,
                 Py_ssize_t max_hello_size=TLS_HELLO_LIMIT):
        self.config = config
        self.target = target
        self.handshake_cb = handshake
        self.handshake_timeout = handshake_timeout
        self.max_hello_size = max_hello_size

    cdef Filter clone(self):
        cdef AcceptTLS f = AcceptTLS.__new__(AcceptTLS)
        f.config = self.config
        f.target = self.target
        f.handshake_cb = self.handshake_cb
        f.handshake_timeout = self.handshake_timeout
        f.max_hello_size = self.max_hello_size
        f.plain_sub = True
        return f

    def sub_layouts(self):
        return (self.target,)

    def describe(self):
        return 'accept_tls -> %s' % self.target.name

    cdef int on_event(self, Event evt) except -1:
        return self.cipher_in(evt)

    cdef int start_early(self) except -1:
        # The handshake timeout counts from the connection, so a client that never says a word is not kept.
        self.arm_handshake_timer()
        return 0

    cdef int emit_cipher(self, Event evt) except -1:
        return self.output(evt)

    cdef int emit_plain(self, Event evt) except -1:
        if self.sub is not None:
            return self.sub.on_event(evt)
        return 0

    cdef int established_now(self) except -1:
        TlsFilter.established_now(self)
        if self.failed or self.closed:
            return 0
        if self.pipeline is not None:
            self.pipeline.context.tls = self.info
        self.sub_output = TlsSubOutput.__new__(TlsSubOutput)
        self.sub_output.owner = self
        self.sub = self.sub_pipeline(self.target, self.sub_output)
        self.sub.start_early()
        return 0

    cdef str peer_name(self):
        info = self.pipeline.context.inbound if self.pipeline is not None else None
        if info is None:
            return 'accept_tls'
        return 'accept_tls from %s:%s' % (info.remote_address, info.remote_port)

    cdef void drain(self):
        if self.sub is not None:
            self.sub.drain()

    cdef bint busy(self):
        return self.sub is not None and self.sub.busy()

    cdef bint input_unread(self):
        return self.sub is None or self.sub.input_unread()
