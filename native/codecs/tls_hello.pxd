# Declared here, defined in tls_hello.pxi.

cdef enum HelloState:
    HELLO_MORE = 0                       # give it more bytes
    HELLO_DONE = 1                       # sni and alpn are read
    HELLO_BAD = 2                        # not a ClientHello (error says why)


# Reads the SNI name and the ALPN offer of a TLS ClientHello from the first bytes of a stream, split anywhere.
cdef class TlsHelloParser:
    cdef bytearray buf                   # the handshake message so far, from the records' payloads
    cdef bytearray record                # the record being read, header included
    cdef Py_ssize_t limit
    cdef public int state
    cdef public str error
    cdef public object sni
    cdef public list alpn
    cdef public list versions

    cdef int feed_bytes(self, const unsigned char* p, Py_ssize_t n) except -1
    cdef int parse_hello(self) except -1
    cdef int bad(self, str why) except -1
