# handle_tls_client_hello: the SNI name and ALPN offer of a TLS stream, without terminating it (codecs/tls_hello.pxi
# reads them), for routing TLS by name. What follows it sees the bytes only once the callback has run, so a
# branch() or connect() after it can use what the callback set.


class TlsClientHello:
    """What handle_tls_client_hello's callback gets: sni (the name asked for, or None), alpn (the protocols
    offered, a list), versions (the TLS versions offered, as 'TLSv1.3', ...)."""
    __slots__ = ('sni', 'alpn', 'versions')

    def __init__(self, sni, alpn, versions):
        self.sni, self.alpn, self.versions = sni, alpn, versions

    def __repr__(self):
        return '<ClientHello sni=%s alpn=%s>' % (self.sni, self.alpn)


cdef class HandleTlsClientHello(Filter):
    """handle_tls_client_hello(callback): calls back with the stream's ClientHello, then passes the stream on."""

    def __init__(self, callback, Py_ssize_t max_hello_size=HELLO_LIMIT):
        self.callback = callback
        self.max_hello_size = max_hello_size

    cdef Filter clone(self):
        cdef HandleTlsClientHello f = HandleTlsClientHello.__new__(HandleTlsClientHello)
        f.callback = self.callback
        f.max_hello_size = self.max_hello_size
        return f

    def describe(self):
        return 'handle_tls_client_hello'

    cdef int on_event(self, Event evt) except -1:
        cdef Data d
        cdef TlsHelloParser p
        if self.passing:
            return self.output(evt)
        if isinstance(evt, Data):
            d = <Data>evt
            if self.parser is None:
                self.parser = TlsHelloParser(self.max_hello_size)
            p = self.parser
            for c in d.chunks():
                if p.state == HELLO_MORE:
                    p.feed(c)
            if self.held is None:
                self.held = Data.of_chunks(d.chunks())
            else:
                self.held.append_data(d)
            if p.state == HELLO_MORE:
                return 0
            self.passing = True
            self.parser = None
            held, self.held = self.held, None
            if p.state == HELLO_BAD:
                info = self.pipeline.context.inbound if self.pipeline is not None else None
                log_warning('pipyx.tls', 'handle_tls_client_hello%s: %s' % (
                    ' from %s:%s' % (info.remote_address, info.remote_port) if info is not None else '', p.error))
                return self.output(StreamEnd('ProtocolError'))
            try:
                self.call(self.callback, TlsClientHello(p.sni, p.alpn, p.versions))
            except Exception as e:
                return self.fail_stream(e)
            return self.output(held)
        if isinstance(evt, StreamEnd):
            self.passing = True              # ended before a whole hello: what came goes on as it is
            held, self.held = self.held, None
            if held is not None:
                self.output(held)
            return self.output(evt)
        return 0
