# Declared here, defined in proxy_protocol.pxi.

# accept_proxy_protocol(): reads the PROXY header, then the rest of the stream goes to the sub-pipeline.
cdef class AcceptProxyProtocol(Filter):
    cdef LayoutRef target
    cdef object on_header
    cdef Py_ssize_t max_header_size
    cdef ProxyHeaderParser parser
    cdef Pipeline sub
    cdef bint refused
    cdef list held                       # the stream's events while an awaited on_header runs

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef int header_read(self) except -1
    cdef int accept(self, object ok, bytes rest) except -1
    cdef int refuse(self, str why) except -1
    cdef void drain(self)
    cdef bint busy(self)
    cdef bint input_unread(self)
    cdef bint relays_bytes(self)
    cdef void shutdown(self)


# connect_proxy_protocol(): a PROXY header, then the stream, into the sub-pipeline.
cdef class ConnectProxyProtocol(Filter):
    cdef LayoutRef target
    cdef int version
    cdef object addresses                # None (ctx.inbound's), or a callable giving (source, destination)
    cdef object tlvs
    cdef Pipeline sub
    cdef bint failed

    cdef Filter clone(self)
    cdef int start_early(self) except -1
    cdef int begin(self) except -1
    cdef int on_event(self, Event evt) except -1
    cdef bint relays_bytes(self)
    cdef void shutdown(self)
