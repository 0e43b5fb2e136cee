# Declared here, defined in socks.pxi.

# accept_socks(): the server side of a SOCKS handshake, then the stream to the sub-pipeline.
cdef class AcceptSocks(Filter):
    cdef LayoutRef target
    cdef object on_connect
    cdef object auth
    cdef SocksServer server
    cdef Pipeline sub
    cdef bint refused
    cdef int waiting                     # the question an awaited callback is answering
    cdef list held                       # the stream's events meanwhile

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef int answer(self, int r) except -1
    cdef int decide(self, int r, object ok) except? -2
    cdef int refuse(self, str why) except -1
    cdef void drain(self)
    cdef bint busy(self)
    cdef bint input_unread(self)
    cdef void shutdown(self)


# Takes what connect_socks's sub-pipeline outputs (the proxy's side) back to its filter.
cdef class SocksReturn(EventTarget):
    cdef ConnectSocks owner

    cdef int on_event(self, Event evt) except -1


# connect_socks(): a SOCKS5 CONNECT through the sub-pipeline (a connection to the proxy), then the stream.
cdef class ConnectSocks(Filter):
    cdef LayoutRef target
    cdef object address                  # where the proxy is to connect: 'host:port', (host, port) or a callable
    cdef str user
    cdef str password
    cdef Py_ssize_t buffer_limit
    cdef SocksClient client
    cdef Pipeline sub
    cdef SocksReturn ret
    cdef list held                       # the stream's events while the handshake runs
    cdef Py_ssize_t held_size
    cdef bint done
    cdef bint failed

    cdef Filter clone(self)
    cdef int start_early(self) except -1
    cdef int begin(self) except -1
    cdef int on_event(self, Event evt) except -1
    cdef int from_proxy(self, Event evt) except -1
    cdef int fail(self, str why, str error) except -1
    cdef void shutdown(self)
