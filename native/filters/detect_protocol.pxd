# Declared here, defined in detect_protocol.pxi.

cdef enum:
    DETECT_UNDECIDED = -1
    DETECT_OTHER = 0
    DETECT_HTTP = 1
    DETECT_HTTP2 = 2
    DETECT_TLS = 3

cdef int detect_protocol_of(const unsigned char* p, Py_ssize_t n, bint ended) except -2


# detect_protocol(callback): tells the callback what protocol a stream's first bytes are; the events pass unchanged.
cdef class DetectProtocolFilter(Filter):
    cdef object callback
    cdef double timeout
    cdef Py_ssize_t max_bytes
    cdef bytearray seen                  # the stream's first bytes, up to max_bytes, while undecided
    cdef bint decided
    cdef bint failed
    cdef object timer

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef int decide(self, int found) except -1
    cdef void shutdown(self)
