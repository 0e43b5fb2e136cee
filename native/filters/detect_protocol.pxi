# detect_protocol: which protocol a stream speaks, from its first bytes. HTTP/1 is a known method, a target and
# "HTTP/1.0" or "HTTP/1.1" at the end of the request line; HTTP/2 its connection preface; TLS a handshake record
# holding a ClientHello. Each test says no as soon as a byte rules it out, so most streams are decided by their first
# read; one that looks like none of them is reported as '' (other).

cdef const char* H2_PREFACE = b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'
cdef Py_ssize_t H2_PREFACE_SIZE = 24
cdef tuple HTTP_METHODS = (b'GET ', b'HEAD ', b'POST ', b'PUT ', b'PATCH ', b'DELETE ', b'CONNECT ', b'OPTIONS ',
                           b'TRACE ')
PROTOCOL_NAMES = ('', 'HTTP', 'HTTP2', 'TLS')
DEFAULT_DETECT_MAX_BYTES = 8192


cdef inline bint prefix_agrees(const unsigned char* p, Py_ssize_t n, const char* s, Py_ssize_t m) noexcept:
    # Whether p[:n] and s[:m] agree on their common length.
    return memcmp(p, s, n if n < m else m) == 0


cdef int detect_http1(const unsigned char* p, Py_ssize_t n, bint ended) except -2:
    cdef Py_ssize_t i, m, k = -1
    cdef const char* method
    cdef bint possible = False
    for x in HTTP_METHODS:
        method = PyBytes_AS_STRING(x)
        m = PyBytes_GET_SIZE(x)
        if prefix_agrees(p, n, method, m):
            possible = True
            if n >= m:
                k = m
            break
    if not possible:
        return DETECT_OTHER
    if k < 0:
        return DETECT_OTHER if ended else DETECT_UNDECIDED
    # The target: anything up to the next space, but no line break.
    i = k
    while i < n and p[i] != b' ':
        if p[i] == b'\r' or p[i] == b'\n':
            return DETECT_OTHER
        i += 1
    if i == n:
        return DETECT_OTHER if ended else DETECT_UNDECIDED
    if i == k:
        return DETECT_OTHER
    i += 1
    if not (prefix_agrees(p + i, n - i, b'HTTP/1.1\r\n', 10) or prefix_agrees(p + i, n - i, b'HTTP/1.0\r\n', 10)):
        return DETECT_OTHER
    if n - i >= 10:
        return DETECT_HTTP
    return DETECT_OTHER if ended else DETECT_UNDECIDED


cdef int detect_tls(const unsigned char* p, Py_ssize_t n, bint ended) noexcept:
    # A handshake record (22) of TLS 1.x (3, 1..4) whose first message is a ClientHello (1) that fits in a record.
    cdef Py_ssize_t record, hello
    if n >= 1 and p[0] != 22:
        return DETECT_OTHER
    if n >= 2 and p[1] != 3:
        return DETECT_OTHER
    if n >= 3 and p[2] > 4:
        return DETECT_OTHER
    if n >= 6 and p[5] != 1:
        return DETECT_OTHER
    if n < 9:
        return DETECT_OTHER if ended else DETECT_UNDECIDED
    record = (p[3] << 8) | p[4]
    hello = (p[6] << 16) | (p[7] << 8) | p[8]
    if record < 4 or hello > 0xffff:
        return DETECT_OTHER
    return DETECT_TLS


cdef int detect_protocol_of(const unsigned char* p, Py_ssize_t n, bint ended) except -2:
    # DETECT_* for a stream that began with p[:n]; with `ended`, no more bytes will come.
    cdef int http1, h2, tls
    http1 = detect_http1(p, n, ended)
    if http1 == DETECT_HTTP:
        return DETECT_HTTP
    if prefix_agrees(p, n, H2_PREFACE, H2_PREFACE_SIZE):
        h2 = DETECT_HTTP2 if n >= H2_PREFACE_SIZE else (DETECT_OTHER if ended else DETECT_UNDECIDED)
    else:
        h2 = DETECT_OTHER
    if h2 == DETECT_HTTP2:
        return DETECT_HTTP2
    tls = detect_tls(p, n, ended)
    if tls == DETECT_TLS:
        return DETECT_TLS
    if http1 == DETECT_UNDECIDED or h2 == DETECT_UNDECIDED or tls == DETECT_UNDECIDED:
        return DETECT_UNDECIDED
    return DETECT_OTHER


def detect_protocol(data, ended=False):
    """The protocol a stream that began with `data` (bytes) speaks: 'HTTP', 'HTTP2', 'TLS', '' (none of them), or
    None when more bytes are needed to tell (and `ended` is false)."""
    cdef bytes b = bytes(data)
    cdef int r = detect_protocol_of(<const unsigned char*>PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b), ended)
    return None if r == DETECT_UNDECIDED else PROTOCOL_NAMES[r]


cdef class DetectProtocolFilter(Filter):
    """detect_protocol(callback, *, timeout=None, max_bytes=8192): calls callback('HTTP' | 'HTTP2' | 'TLS' | '')
    once the stream's first bytes tell; every event passes unchanged."""

    def __init__(self, callback, timeout=None, max_bytes=None):
        if not callable(callback):
            raise TypeError('detect_protocol() needs a callable, given the protocol\'s name')
        self.callback = callback
        self.timeout = float(timeout) if timeout is not None else 0.0
        self.max_bytes = int(max_bytes) if max_bytes is not None else DEFAULT_DETECT_MAX_BYTES
        if self.timeout < 0 or self.max_bytes < 24:
            raise ValueError('detect_protocol(): timeout must not be negative and max_bytes at least 24')

    cdef Filter clone(self):
        cdef DetectProtocolFilter f = DetectProtocolFilter.__new__(DetectProtocolFilter)
        f.callback = self.callback
        f.timeout = self.timeout
        f.max_bytes = self.max_bytes
        return f

    def describe(self):
        return 'detect_protocol'

    cdef int on_event(self, Event evt) except -1:
        cdef Data d
        cdef Py_ssize_t i, room
        cdef const unsigned char* p
        cdef int found
        if self.failed:
            return 0
        if not self.decided:
            if self.timeout > 0 and self.timer is None:
                self.timer = _asyncio.get_event_loop().call_later(self.timeout, self._timed_out)
            if isinstance(evt, Data):
                d = <Data>evt
                if self.seen is None:
                    self.seen = bytearray()
                for i in range(d.chunk_count()):
                    room = self.max_bytes - len(self.seen)
                    if room <= 0:
                        break
                    c = d.chunk_at(i)
                    if type(c) is FileChunk:
                        c = bytes(c)
                    self.seen += c if len(c) <= room else memoryview(c)[:room]
                p = <const unsigned char*><char*>self.seen
                found = detect_protocol_of(p, len(self.seen), len(self.seen) >= self.max_bytes)
                if found != DETECT_UNDECIDED:
                    self.decide(found)
            elif isinstance(evt, StreamEnd):
                self.decide(DETECT_OTHER)
        if self.failed:
            return 0
        return self.output(evt)

    cdef int decide(self, int found) except -1:
        self.decided = True
        self.seen = None
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        try:
            r = self.call(self.callback, PROTOCOL_NAMES[found])
        except Exception as e:
            self.failed = True
            return self.fail_stream(e)
        try:
            return emit_value(self, r)
        except TypeError as e:
            self.failed = True
            return self.fail_stream(e)

    def _timed_out(self):
        self.timer = None
        if self.decided:
            return
        dispatch_begins()
        try:
            self.decide(DETECT_OTHER)
        except Exception as e:
            self.fail_stream(e)
        finally:
            dispatch_ends()

    cdef void shutdown(self):
        self.decided = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
