# Declared here, defined in http_decode.pxi.

cdef enum DecoderState:
    S_HEAD = 0
    S_BODY = 1               # Content-Length body; remaining bytes to go
    S_CHUNK_SIZE = 2
    S_CHUNK_DATA = 3
    S_CHUNK_CRLF = 4
    S_TRAILERS = 5
    S_UNTIL_CLOSE = 6        # a response framed by the end of the connection
    S_DEAD = 7               # after an error: everything further is ignored
    S_TUNNEL = 8             # after a successful upgrade: raw bytes


# Receives what an HttpDecoder decodes.
cdef class HttpSink:
    cdef int on_head(self, HttpHead head) except -1
    cdef int on_body(self, object chunk) except -1
    cdef int on_end(self) except -1
    cdef int on_error(self, int status) except -1
    cdef bint bodiless_response(self) except -1


# A sink that keeps what it is given as tuples.
cdef class HttpDecodeLog(HttpSink):
    cdef public list events
    cdef public bint bodiless


# The HTTP/1.x decoder of one direction of one connection.
cdef class HttpDecoder:
    cdef HttpSink sink
    cdef bint response_mode
    cdef HttpLimits limits
    cdef int state
    cdef bytearray partial           # an incomplete head, chunk-size line or trailer section
    cdef int64_t remaining
    cdef int64_t body_size
    cdef public bint head_request    # response mode: the response answers a HEAD request (no body)
    cdef public bint connect_request # response mode: the response answers a CONNECT (a 2xx opens a tunnel)
    cdef public bint paused          # the sink asks to stop; the rest waits in `rest`
    cdef object rest
    cdef bint cut                    # decoding stopped with part of a message read, or bytes came after it stopped

    cdef inline bint idle(self):
        # Between messages, with no part of the next one here yet.
        return self.state == S_HEAD and (self.partial is None or len(self.partial) == 0)
    cdef inline bint mid_message(self):
        # The peer may still be sending what this decoder will not read: closing now could reset the connection.
        return self.cut or self.rest is not None or (self.state != S_DEAD and not self.idle())
    cdef int fail(self, int status) except -1
    cdef void stop(self)
    cdef int feed(self, object chunk) except -1
    cdef int resume(self) except -1
    cdef int feed_eof(self) except -1
    cdef int start_message(self, bytes buf, Py_ssize_t pos, Py_ssize_t he) except -1
    cdef Py_ssize_t feed_chunked(self, bytes buf, Py_ssize_t pos, Py_ssize_t n) except -2
