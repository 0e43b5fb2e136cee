# Declared here, defined in http_parse.pxi.

# Limits for decoding HTTP/1.x.
cdef class HttpLimits:
    cdef public Py_ssize_t max_header_size   # the whole head, request/status line included
    cdef public int max_header_count
    cdef public Py_ssize_t max_line_size     # the request line
    cdef public int64_t max_body_size        # 0: no limit
    cdef public double header_timeout        # a server's: from a head's first byte to its end (0: none)
    cdef public double body_timeout          # a server's: the longest pause in a request body (0: none)
    cdef public Http2Options http2           # a server's HTTP/2 options (None: the defaults)


cdef bint name_is(const char* p, Py_ssize_t n, const char* lower, Py_ssize_t ln) noexcept
cdef Py_ssize_t find_head_end(const char* p, Py_ssize_t start, Py_ssize_t end) noexcept
cdef Py_ssize_t line_end(const char* p, Py_ssize_t i, Py_ssize_t end) noexcept
cdef int parse_version(const char* p, Py_ssize_t n) noexcept
cdef int parse_fields(HttpHead h, bytes raw, Py_ssize_t i, Py_ssize_t end, HttpLimits lim, bint is_request)
cdef void add_skip(HttpHead h, Py_ssize_t a, Py_ssize_t b) noexcept
cdef void scan_connection(HttpHead h, const char* p, Py_ssize_t i, Py_ssize_t end, bint* close, bint* ka, bint* other) noexcept
cdef int request_start_refused(const char* p, Py_ssize_t start, Py_ssize_t end, HttpLimits lim) noexcept
cdef int parse_request_head(RequestHead h, bytes raw, Py_ssize_t start, Py_ssize_t end, HttpLimits lim)
cdef int parse_response_head(ResponseHead h, bytes raw, Py_ssize_t start, Py_ssize_t end, HttpLimits lim)
