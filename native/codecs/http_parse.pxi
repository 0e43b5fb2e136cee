# Scanning HTTP/1.x heads in C: the request or status line, the header fields, and every framing decision
# (Content-Length, Transfer-Encoding, Connection, Expect, Host) without making a Python object per field. Anything
# ambiguous that could let two parsers disagree about where a message ends is refused.

cdef class HttpLimits:
    """Limits for decoding HTTP/1.x. Exceeding a head limit answers 431 (414 for the request line), the body 413.
    A server answers 408 to a request whose head takes longer than header_timeout to arrive from its first byte, or
    whose body pauses for longer than body_timeout (seconds; 0: no limit)."""

    def __init__(self, max_header_size=16384, max_header_count=100, max_line_size=8192, max_body_size=64 * 1024 * 1024,
                 header_timeout=60.0, body_timeout=60.0, Http2Options http2=None):
        self.http2 = http2
        self.max_header_size = max_header_size
        self.max_header_count = max_header_count
        self.max_line_size = max_line_size
        self.max_body_size = max_body_size or 0
        self.header_timeout = header_timeout or 0
        self.body_timeout = body_timeout or 0

    def __repr__(self):
        return ('HttpLimits(max_header_size=%d, max_header_count=%d, max_line_size=%d, max_body_size=%d, '
                'header_timeout=%g, body_timeout=%g)' % (
                    self.max_header_size, self.max_header_count, self.max_line_size, self.max_body_size,
                    self.header_timeout, self.body_timeout))


cdef HttpLimits DEFAULT_LIMITS = HttpLimits()

cdef char _tchar[256]


cdef void _init_tchar():
    cdef int c
    for c in range(256):
        _tchar[c] = 0
    for c in range(ord('0'), ord('9') + 1):
        _tchar[c] = 1
    for c in range(ord('a'), ord('z') + 1):
        _tchar[c] = 1
    for c in range(ord('A'), ord('Z') + 1):
        _tchar[c] = 1
    for c in b"!#$%&'*+-.^_`|~":
        _tchar[c] = 1

_init_tchar()


cdef inline bint name_is(const char* p, Py_ssize_t n, const char* lower, Py_ssize_t ln) noexcept:
    cdef Py_ssize_t i
    if n != ln:
        return False
    for i in range(n):
        if (p[i] | 0x20) != lower[i]:
            return False
    return True


cdef Py_ssize_t find_head_end(const char* p, Py_ssize_t start, Py_ssize_t end) noexcept:
    # Offset just past the blank line that ends a head in p[start:end], or -1 if it is not all there yet.
    cdef const char* q
    cdef Py_ssize_t i = start
    while i < end:
        q = <const char*>memchr(p + i, b'\n', end - i)
        if q == NULL:
            return -1
        i = q - p + 1
        if i < end and p[i] == b'\n':
            return i + 1
        if i + 1 < end and p[i] == b'\r' and p[i + 1] == b'\n':
            return i + 2
        if i >= end or (i + 1 >= end and p[i] == b'\r'):
            return -1
    return -1


cdef inline Py_ssize_t line_end(const char* p, Py_ssize_t i, Py_ssize_t end) noexcept:
    cdef const char* q = <const char*>memchr(p + i, b'\n', end - i)
    return -1 if q == NULL else q - p


cdef int parse_version(const char* p, Py_ssize_t n) noexcept:
    # 10 or 11 for HTTP/1.0 and HTTP/1.1, 0 for anything malformed, -1 for another version.
    if n != 8 or memcmp(p, b'HTTP/', 5) != 0 or p[6] != b'.':
        return 0
    if p[5] < b'0' or p[5] > b'9' or p[7] < b'0' or p[7] > b'9':
        return 0
    if p[5] != b'1':
        return -1
    return 10 if p[7] == b'0' else 11


cdef int parse_fields(HttpHead h, bytes raw, Py_ssize_t i, Py_ssize_t end, HttpLimits lim, bint is_request):
    # Parses the header fields from i to the blank line that ends at end. Returns 0, or the status to answer with.
    cdef const char* p = PyBytes_AS_STRING(raw)
    cdef Py_ssize_t le, ns, ne, vs, ve, k
    cdef int count = 0
    cdef int hosts = 0
    cdef bint has_te = False, conn_close = False, conn_ka = False, conn_other = False
    cdef int64_t cl = -1, v
    cdef bint bare_lf = False
    h.raw = raw
    h.hstart = i
    h.nskip = 0
    if memchr(p + i, 0, end - i) != NULL:
        return 400                           # a NUL anywhere in the fields: one scan of them all, not one a line
    while True:
        le = line_end(p, i, end)
        if le < 0:
            return 400
        if le == i or (le == i + 1 and p[i] == b'\r'):
            h.hend = i
            break
        count += 1
        if count > lim.max_header_count:
            return 431
        if p[i] == b' ' or p[i] == b'\t':
            return 400                       # obsolete line folding
        ns = i
        ne = i
        while ne < le and _tchar[<unsigned char>p[ne]]:
            ne += 1
        if ne == ns or ne >= le or p[ne] != b':':
            return 400                       # no name, or whitespace/garbage before the colon
        vs = ne + 1
        while vs < le and (p[vs] == b' ' or p[vs] == b'\t'):
            vs += 1
        ve = le
        if ve > vs and p[ve - 1] == b'\r':
            ve -= 1
        elif p[le - 1] != b'\r':
            bare_lf = True
        if ve > vs and memchr(p + vs, b'\r', ve - vs) != NULL:
            return 400                       # a bare CR inside a value
        while ve > vs and (p[ve - 1] == b' ' or p[ve - 1] == b'\t'):
            ve -= 1
        ne -= ns
        # Dispatch on the name's length first: most fields are none of these.
        if ne == 4 and is_request and name_is(p + ns, 4, b'host', 4):
            hosts += 1
        elif ne == 14 and name_is(p + ns, 14, b'content-length', 14):
            if ve == vs or ve - vs > 18:
                return 400
            v = 0
            for k in range(vs, ve):
                if p[k] < b'0' or p[k] > b'9':
                    return 400
                v = v * 10 + (p[k] - 48)
            if cl >= 0 and cl != v:
                return 400
            cl = v
            add_skip(h, i, le + 1)
        elif ne == 17 and name_is(p + ns, 17, b'transfer-encoding', 17):
            has_te = True
            # Only 'chunked' as the last coding frames a message.
            h.chunked = ve - vs >= 7 and name_is(p + ve - 7, 7, b'chunked', 7) and \
                (ve - vs == 7 or p[ve - 8] == b',' or p[ve - 8] == b' ' or p[ve - 8] == b'\t')
            add_skip(h, i, le + 1)
        elif ne == 10 and name_is(p + ns, 10, b'connection', 10):
            scan_connection(h, p, vs, ve, &conn_close, &conn_ka, &conn_other)
            add_skip(h, i, le + 1)
        elif ne == 6 and is_request and name_is(p + ns, 6, b'expect', 6):
            if name_is(p + vs, ve - vs, b'100-continue', 12):
                h.expect_continue = True
        elif (ne == 10 and name_is(p + ns, 10, b'keep-alive', 10)) or \
                (ne == 16 and name_is(p + ns, 16, b'proxy-connection', 16)) or \
                (ne == 2 and name_is(p + ns, 2, b'te', 2)) or \
                (ne == 7 and (name_is(p + ns, 7, b'trailer', 7) or name_is(p + ns, 7, b'upgrade', 7))):
            add_skip(h, i, le + 1)
        i = le + 1
    if has_te:
        if cl >= 0 or h.version == 10:
            return 400                       # both framings, or chunked on HTTP/1.0: smuggling territory
        if is_request and not h.chunked:
            return 400
        h.content_length = -1
    else:
        h.content_length = cl
    if is_request and (hosts > 1 or (h.version == 11 and hosts != 1)):
        return 400
    h.has_host = hosts == 1
    h.keep_alive = (not conn_close) if h.version == 11 else conn_ka
    if bare_lf:
        h.nskip = -1                    # re-encode with CRLF rather than copy bare LFs out
    if conn_other:
        # Connection names more fields that are hop-by-hop for this hop only: they are not forwarded either.
        h.nskip = -1
        h.headers_cache = h.parse_headers()
        h.conn_names = frozenset(t.strip().lower() for t in h.headers_cache.get('connection', '').split(',') if t.strip())
    if h.nskip < 0:
        if h.headers_cache is None:
            h.headers_cache = h.parse_headers()
        h.headers_cache.modified = True
    return 0


cdef inline void add_skip(HttpHead h, Py_ssize_t a, Py_ssize_t b) noexcept:
    if h.nskip < 0:
        return
    if h.nskip >= MAX_SKIPS:
        h.nskip = -1
        return
    h.skips[2 * h.nskip] = a
    h.skips[2 * h.nskip + 1] = b
    h.nskip += 1


cdef void scan_connection(HttpHead h, const char* p, Py_ssize_t i, Py_ssize_t end, bint* close, bint* ka,
                          bint* other) noexcept:
    cdef Py_ssize_t s
    while i < end:
        while i < end and (p[i] == b' ' or p[i] == b'\t' or p[i] == b','):
            i += 1
        s = i
        while i < end and p[i] != b',' and p[i] != b' ' and p[i] != b'\t':
            i += 1
        if name_is(p + s, i - s, b'close', 5):
            close[0] = True
        elif name_is(p + s, i - s, b'keep-alive', 10):
            ka[0] = True
        elif name_is(p + s, i - s, b'upgrade', 7):
            h.connection_upgrade = True
        elif i > s:
            other[0] = True


cdef int request_start_refused(const char* p, Py_ssize_t start, Py_ssize_t end, HttpLimits lim) noexcept:
    # For the start of a request whose head is not all there yet: 400 if it cannot be HTTP (a NUL, a TLS
    # handshake: the method is not a token followed by a space), 414 once the request line is longer than allowed,
    # else 0. Waiting for the rest of a head that will never parse would hold the connection until a timeout.
    cdef Py_ssize_t i = start
    cdef Py_ssize_t le
    while i < end and _tchar[<unsigned char>p[i]]:
        i += 1
    if i < end and (i == start or p[i] != b' '):
        return 400
    le = line_end(p, start, end)
    if (le < 0 and end - start > lim.max_line_size) or (le >= 0 and le - start > lim.max_line_size):
        return 414
    return 0


cdef int parse_request_head(RequestHead h, bytes raw, Py_ssize_t start, Py_ssize_t end, HttpLimits lim):
    # Parses the request head in raw[start:end] (end is just past its blank line). Returns 0 or an error status.
    cdef const char* p = PyBytes_AS_STRING(raw)
    cdef Py_ssize_t i = start, le, ms, me, ps, pe, ve
    cdef int v
    while i < end and (p[i] == b'\r' or p[i] == b'\n'):
        i += 1                               # stray line breaks before a request are allowed
    le = line_end(p, i, end)
    if le < 0:
        return 400
    if le - i > lim.max_line_size:
        return 414
    ms = i
    while i < le and _tchar[<unsigned char>p[i]]:
        i += 1
    me = i
    if me == ms or i >= le or p[i] != b' ':
        return 400
    i += 1
    ps = i
    while i < le and <unsigned char>p[i] > 0x20 and p[i] != 0x7f:
        i += 1
    pe = i
    if pe == ps or i >= le or p[i] != b' ':
        return 400
    i += 1
    ve = le
    if ve > i and p[ve - 1] == b'\r':
        ve -= 1
    v = parse_version(p + i, ve - i)
    if v == 0:
        return 400
    if v < 0:
        return 505
    h.version = v
    h.method_start, h.method_end, h.path_start, h.path_end = ms, me, ps, pe
    h.method_cache = None
    h.path_cache = None
    h.line_modified = False
    return parse_fields(h, raw, le + 1, end, lim, True)


cdef int parse_response_head(ResponseHead h, bytes raw, Py_ssize_t start, Py_ssize_t end, HttpLimits lim):
    cdef const char* p = PyBytes_AS_STRING(raw)
    cdef Py_ssize_t i = start, le, re
    cdef int v
    le = line_end(p, i, end)
    if le < 0 or le - i < 12:
        return 502
    v = parse_version(p + i, 8)
    if v <= 0 or p[i + 8] != b' ':
        return 502
    i += 9
    if not (b'0' <= p[i] <= b'9' and b'0' <= p[i + 1] <= b'9' and b'0' <= p[i + 2] <= b'9'):
        return 502
    h.status = (p[i] - 48) * 100 + (p[i + 1] - 48) * 10 + (p[i + 2] - 48)
    if h.status < 100 or not (p[i + 3] == b' ' or p[i + 3] == b'\r' or p[i + 3] == b'\n'):
        return 502
    i += 3
    if i < le and p[i] == b' ':
        i += 1
    re = le
    if re > i and p[re - 1] == b'\r':
        re -= 1
    h.version = v
    h.reason_start, h.reason_end = i, re
    h.reason_cache = None
    if parse_fields(h, raw, le + 1, end, lim, False) != 0:
        return 502
    return 0
