# Declared here, defined in socks.pxi.

cdef enum SocksEvent:
    SOCKS_NEED_MORE = 0
    SOCKS_CHECK_AUTH = 1                 # SocksServer: user and password are read; answer with accept_auth()
    SOCKS_CHECK_CONNECT = 2              # SocksServer: the request is read; answer with accept_connect()
    SOCKS_DONE = 3                       # SocksClient: the proxy has connected; the stream is the target's now
    SOCKS_FAILED = -1


# The server side of a SOCKS4/4a/5 handshake.
cdef class SocksServer:
    cdef bytearray buf
    cdef int state
    cdef bytearray out
    cdef public bint require_auth
    cdef public int version
    cdef public str host
    cdef public int port
    cdef public str user
    cdef public str password
    cdef public str error

    cpdef int feed(self, bytes data)
    cdef int step(self)
    cdef int read_greeting(self)
    cdef int read_auth(self)
    cdef int read_request5(self)
    cdef int read_request4(self)
    cdef int fail(self, str why, bytes reply)
    cpdef int accept_auth(self, bint ok)
    cpdef int accept_connect(self, bint ok)
    cpdef bytes take_output(self)
    cpdef bytes take_rest(self)


# The client side of a SOCKS5 handshake: CONNECT to host:port through a proxy.
cdef class SocksClient:
    cdef bytearray buf
    cdef int state
    cdef bytearray out
    cdef public str host
    cdef public int port
    cdef public str user
    cdef public str password
    cdef public str error

    cpdef bytes start(self)
    cpdef int feed(self, bytes data)
    cdef bytes request(self)
    cdef int fail(self, str why)
    cpdef bytes take_output(self)
    cpdef bytes take_rest(self)
