# connect_tls: originates TLS. The sub-pipeline (typically connect(upstream)) carries the records; the handshake
# starts with the stream's first event, what the stream sends meanwhile waits for it. The server's certificate is
# checked against the trusted CAs (the system's by default) and the SNI name; sessions are kept per name and server,
# so the connections of a mux_http pool resume them instead of a full handshake each.

import ipaddress as _ipaddress


cdef class ConnectTLS(TlsFilter):
    """connect_tls(sni=..., ...).to(layout): TLS to a server, the sub-pipeline on the cipher side."""

    def __init__(self, TlsContext config, LayoutRef target, sni=None, handshake=None, double handshake_timeout=10.0,
                 Py_ssize_t max_pending_size=TLS_PENDING_LIMIT):
        self.config = config
        self.target = target
        self.sni = sni
        self.handshake_cb = handshake
        self.handshake_timeout = handshake_timeout
        self.max_pending_size = max_pending_size

    cdef Filter clone(self):
        cdef ConnectTLS f = ConnectTLS.__new__(ConnectTLS)
        f.config = self.config
        f.target = self.target
        f.sni = self.sni
        f.handshake_cb = self.handshake_cb
        f.handshake_timeout = self.handshake_timeout
        f.max_pending_size = self.max_pending_size
        f.plain_sub = False
        return f

    def sub_layouts(self):
        return (self.target,)

    def describe(self):
        return 'connect_tls -> %s' % self.target.name

    cdef int on_event(self, Event evt) except -1:
        if self.ssl == NULL and not self.failed and not self.closed:
            if isinstance(evt, StreamEnd):
                self.failed = True
                return self.output(evt)          # ended before it began: nothing to connect for
            self.begin()
        return self.plain_in(evt)

    cdef int start_early(self) except -1:
        if self.ssl == NULL:
            self.begin()
        return 0

    cdef int begin(self) except -1:
        cdef TlsSession resume
        cdef X509_VERIFY_PARAM* param
        upstream = self.target.layout.first_target() if self.target.layout is not None else None
        try:
            name = self.evaluate(self.sni)
        except Exception as e:
            report_error(e, self.location)
            self.failed = True
            return self.output(StreamEnd('RuntimeError'))
        if name is None and isinstance(upstream, str):
            name = upstream.rsplit(':', 1)[0].strip('[]')
        self.new_ssl()
        ip = None
        if name:
            try:
                ip = _ipaddress.ip_address(name)
            except ValueError:
                pass
            bname = str(name).encode('idna' if not str(name).isascii() else 'ascii')
            if ip is None:
                SSL_set_tlsext_host_name(self.ssl, bname)
            if self.config.options.get('verify') is not False:
                if ip is not None:
                    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(self.ssl), bname)
                else:
                    SSL_set1_host(self.ssl, bname)
        self.session_key = (name, upstream if isinstance(upstream, str) else None)
        resume = self.config.sessions.get(self.session_key)
        if resume is not None:
            SSL_set_session(self.ssl, resume.sess)
        self.sub_output = TlsSubOutput.__new__(TlsSubOutput)
        self.sub_output.owner = self
        self.sub = self.sub_pipeline(self.target, self.sub_output)
        self.arm_handshake_timer()
        self.in_cipher += 1
        try:
            self.advance()                       # the ClientHello
        finally:
            self.in_cipher -= 1
        if not self.failed:
            self.flush_cipher()
        return 0

    cdef object target_address(self):
        # A mux_http pool over connect_tls is keyed by the upstream the sub-pipeline connects to.
        if self.target.layout is not None:
            return self.target.layout.first_target()
        return None

    cdef void expect_reply(self, bint owed):
        cdef Filter f
        if self.sub is not None:
            f = self.sub.first_filter()
            if f is not None:
                f.expect_reply(owed)

    cdef int emit_cipher(self, Event evt) except -1:
        if self.sub is not None:
            return self.sub.on_event(evt)
        return 0

    cdef int emit_plain(self, Event evt) except -1:
        return self.output(evt)

    cdef str peer_name(self):
        key = self.session_key
        if key is None:
            return 'connect_tls'
        if key[1] is not None:
            return 'connect_tls to %s (%s)' % (key[1], key[0])
        return 'connect_tls to %s' % (key[0],)
