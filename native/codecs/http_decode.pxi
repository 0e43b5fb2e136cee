# The HTTP/1.x decoder: bytes in, heads and body pieces out, through HttpSink's methods. It knows nothing of
# sockets, so tests drive it with plain bytes split anywhere.

cdef class HttpSink:
    """Receives what an HttpDecoder decodes: a filter's reader (serve_http, mux_http, decode_http_*) or, in tests
    and tools, an HttpDecodeLog."""

    cdef int on_head(self, HttpHead head) except -1:
        return 0

    cdef int on_body(self, object chunk) except -1:
        return 0

    cdef int on_end(self) except -1:
        return 0

    cdef int on_error(self, int status) except -1:
        # status: 400/413/414/431/505 for a request, 502 for a response.
        return 0

    cdef bint bodiless_response(self) except -1:
        # Response mode: asked as each response head arrives; true when it can have no body (it answers HEAD).
        return False


cdef class HttpDecodeLog(HttpSink):
    """A sink that keeps what it is given as tuples: ('head', head), ('body', bytes), ('end',), ('error', status).
    With HttpDecoder.feed_bytes() it drives the decoder from Python with bytes alone."""

    def __init__(self, bodiless=False):
        self.events = []
        self.bodiless = bodiless

    cdef int on_head(self, HttpHead head) except -1:
        self.events.append(('head', head))
        return 0

    cdef int on_body(self, object chunk) except -1:
        if self.events and self.events[-1][0] == 'body':
            self.events[-1] = ('body', self.events[-1][1] + bytes(chunk))
        else:
            self.events.append(('body', bytes(chunk)))
        return 0

    cdef int on_end(self) except -1:
        self.events.append(('end',))
        return 0

    cdef int on_error(self, int status) except -1:
        self.events.append(('error', status))
        return 0

    cdef bint bodiless_response(self) except -1:
        return self.bodiless


cdef inline bytes bytes_between(bytes buf, Py_ssize_t a, Py_ssize_t b):
    # buf[a:b] without a slice object and the generic subscript: a body piece is cut from every read.
    return PyBytes_FromStringAndSize(PyBytes_AS_STRING(buf) + a, b - a)


cdef class HttpDecoder:
    """The HTTP/1.x decoder of one direction of one connection: requests (response_mode False) or responses."""

    def __init__(self, HttpSink sink, bint response_mode, HttpLimits limits=None):
        self.sink = sink
        self.response_mode = response_mode
        self.limits = limits if limits is not None else DEFAULT_LIMITS
        self.state = S_HEAD

    def feed_bytes(self, data):
        """Decodes bytes (from Python: tests, tools)."""
        self.feed(bytes(data))

    def feed_end(self):
        """The bytes have ended (the peer closed)."""
        self.feed_eof()

    cdef void stop(self):
        # No further message is decoded; what arrives is ignored.
        if self.state != S_DEAD and not self.idle():
            self.cut = True
        self.state = S_DEAD
        self.partial = None

    cdef int fail(self, int status) except -1:
        self.cut = True
        self.state = S_DEAD
        self.partial = None
        return self.sink.on_error(status)

    cdef int feed(self, object chunk) except -1:
        # chunk: bytes. Pieces of it go to the sink as bytes or memoryview without copying where possible.
        cdef bytes buf
        cdef Py_ssize_t n, pos, end, he
        cdef int err
        cdef const char* p
        if self.paused:
            self.rest = chunk if self.rest is None else bytes(self.rest) + bytes(chunk)
            return 0
        if not PyBytes_Check(chunk):
            chunk = bytes(chunk)
        buf = <bytes>chunk
        n = PyBytes_GET_SIZE(buf)
        pos = 0
        while pos < n and not self.paused:
            if self.state == S_HEAD:
                if self.partial is not None and len(self.partial) > 0:
                    # Glue the pieces of a head that came split; only the head's bytes are copied.
                    self.partial += buf[pos:]
                    buf = bytes(self.partial)
                    self.partial = None
                    n = PyBytes_GET_SIZE(buf)
                    pos = 0
                p = PyBytes_AS_STRING(buf)
                while pos < n and (p[pos] == b'\r' or p[pos] == b'\n'):
                    pos += 1              # blank lines between messages are allowed
                if pos >= n:
                    return 0
                he = find_head_end(p, pos, n)
                if he < 0:
                    if not self.response_mode:
                        err = request_start_refused(p, pos, n, self.limits)
                        if err:
                            return self.fail(err)
                    if n - pos > self.limits.max_header_size:
                        return self.fail(431 if not self.response_mode else 502)
                    self.partial = bytearray(buf[pos:])
                    return 0
                if he - pos > self.limits.max_header_size:
                    if not self.response_mode:
                        err = request_start_refused(p, pos, he, self.limits)
                        if err:
                            return self.fail(err)
                    return self.fail(431 if not self.response_mode else 502)
                if self.start_message(buf, pos, he):
                    return 0
                pos = he
            elif self.state == S_BODY:
                end = n if n - pos <= self.remaining else pos + self.remaining
                if end > pos:
                    self.remaining -= end - pos
                    self.sink.on_body(buf if pos == 0 and end == n else bytes_between(buf, pos, end))
                    pos = end
                if self.remaining == 0 and self.state == S_BODY:
                    self.state = S_HEAD
                    self.sink.on_end()
            elif self.state == S_UNTIL_CLOSE or self.state == S_TUNNEL:
                self.sink.on_body(buf if pos == 0 else buf[pos:])
                return 0
            elif self.state == S_DEAD:
                self.cut = True
                return 0
            else:
                pos = self.feed_chunked(buf, pos, n)
                if pos < 0:
                    return 0
        if self.paused and pos < n:
            self.rest = buf[pos:]
        return 0

    cdef int resume(self) except -1:
        self.paused = False
        if self.rest is not None:
            rest, self.rest = self.rest, None
            self.feed(rest)
        return 0

    cdef int feed_eof(self) except -1:
        if self.state == S_UNTIL_CLOSE:
            self.state = S_HEAD
            self.sink.on_end()
        return 0

    cdef int start_message(self, bytes buf, Py_ssize_t pos, Py_ssize_t he) except -1:
        # Returns 1 if decoding stopped (an error was answered).
        cdef HttpHead h
        cdef RequestHead rq
        cdef ResponseHead rs
        cdef int err
        if self.response_mode:
            rs = ResponseHead.__new__(ResponseHead)
            rs.content_length = -1
            err = parse_response_head(rs, buf, pos, he, self.limits)
            h = rs
        else:
            rq = RequestHead.__new__(RequestHead)
            rq.content_length = -1
            err = parse_request_head(rq, buf, pos, he, self.limits)
            h = rq
        if err:
            self.fail(err)
            return 1
        if self.response_mode:
            if rs.status < 200 and rs.status != 101:
                return 0                     # an interim response: the final one follows
            if rs.status == 101 or (self.connect_request and 200 <= rs.status < 300):
                self.state = S_TUNNEL
                self.sink.on_head(h)
                return 0
            if self.head_request or not status_has_body(rs.status) or self.sink.bodiless_response():
                self.sink.on_head(h)
                self.sink.on_end()
                return 0
        elif h.content_length > self.limits.max_body_size > 0:
            self.fail(413)
            return 1
        self.body_size = 0
        if h.chunked:
            self.state = S_CHUNK_SIZE
            self.sink.on_head(h)
        elif h.content_length > 0:
            self.state = S_BODY
            self.remaining = h.content_length
            self.sink.on_head(h)
        elif self.response_mode and h.content_length < 0:
            self.state = S_UNTIL_CLOSE
            self.sink.on_head(h)
        else:
            self.sink.on_head(h)
            if self.state == S_HEAD:
                self.sink.on_end()
        return 0

    cdef Py_ssize_t feed_chunked(self, bytes buf, Py_ssize_t pos, Py_ssize_t n) except -2:
        cdef const char* p = PyBytes_AS_STRING(buf)
        cdef Py_ssize_t le, end, i
        cdef int64_t size
        cdef int c
        cdef bytes line
        if self.state == S_CHUNK_DATA:
            end = n if n - pos <= self.remaining else pos + self.remaining
            self.remaining -= end - pos
            self.body_size += end - pos
            if self.limits.max_body_size > 0 and self.body_size > self.limits.max_body_size:
                self.fail(413 if not self.response_mode else 502)
                return -1
            self.sink.on_body(buf if pos == 0 and end == n else bytes_between(buf, pos, end))
            if self.remaining == 0:
                self.state = S_CHUNK_CRLF
            return end
        # The size line, the CRLF after a chunk, and trailer lines are short: gather them whole.
        le = line_end(p, pos, n)
        if le < 0:
            if self.partial is None:
                self.partial = bytearray()
            self.partial += buf[pos:]
            if len(self.partial) > 4096:
                self.fail(400 if not self.response_mode else 502)
                return -1
            return n
        if self.partial is not None and len(self.partial) > 0:
            line = bytes(self.partial) + buf[pos:le]
            self.partial = None
        else:
            line = buf[pos:le]
        if len(line) and line[len(line) - 1] == 13:
            line = line[:len(line) - 1]
        if self.state == S_CHUNK_CRLF:
            if len(line):
                self.fail(400 if not self.response_mode else 502)
                return -1
            self.state = S_CHUNK_SIZE
            return le + 1
        if self.state == S_TRAILERS:
            if len(line) == 0:
                self.state = S_HEAD
                self.sink.on_end()
            return le + 1
        size = 0
        i = 0
        for i in range(len(line)):
            c = line[i]
            if 48 <= c <= 57:
                c -= 48
            elif 97 <= c <= 102:
                c -= 87
            elif 65 <= c <= 70:
                c -= 55
            elif c == 59 or c == 32 or c == 9:
                break                        # chunk extensions are ignored
            else:
                self.fail(400 if not self.response_mode else 502)
                return -1
            size = size * 16 + c
            if size > (<int64_t>1 << 40):
                self.fail(413 if not self.response_mode else 502)
                return -1
        if len(line) == 0 or line[0] in b'; \t':
            self.fail(400 if not self.response_mode else 502)
            return -1
        if size == 0:
            self.state = S_TRAILERS
        else:
            self.state = S_CHUNK_DATA
            self.remaining = size
        return le + 1
