# HTTP message heads. A head decoded from the wire keeps the raw bytes and offsets the scanner found; method, path,
# status and the header mapping become Python objects only when a script reads them, and an encoder writes the raw
# header block straight back out (less the hop-by-hop lines) unless the script changed the headers.

# Header names an intermediary must not forward as they are: hop-by-hop ones, and the framing it redoes itself.
HOP_BY_HOP = frozenset(('connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'content-length', 'te',
                        'trailer', 'upgrade'))


cdef class Headers(dict):
    """Header fields by lower-case name. Values are str; repeated Set-Cookie fields are a list of str."""

    def __setitem__(self, key, value):
        self.modified = True
        dict.__setitem__(self, key.lower() if isinstance(key, str) else key, value)

    def __delitem__(self, key):
        self.modified = True
        dict.__delitem__(self, key.lower() if isinstance(key, str) else key)

    def __getitem__(self, key):
        return dict.__getitem__(self, key.lower() if isinstance(key, str) else key)

    def __contains__(self, key):
        return dict.__contains__(self, key.lower() if isinstance(key, str) else key)

    def get(self, key, default=None):
        return dict.get(self, key.lower() if isinstance(key, str) else key, default)

    def pop(self, key, *default):
        self.modified = True
        return dict.pop(self, key.lower() if isinstance(key, str) else key, *default)

    def popitem(self):
        self.modified = True
        return dict.popitem(self)

    def setdefault(self, key, default=None):
        key = key.lower() if isinstance(key, str) else key
        if not dict.__contains__(self, key):
            self.modified = True
        return dict.setdefault(self, key, default)

    def update(self, *args, **kwargs):
        self.modified = True
        for k, v in dict(*args, **kwargs).items():
            dict.__setitem__(self, k.lower() if isinstance(k, str) else k, v)

    def clear(self):
        self.modified = True
        dict.clear(self)


cdef inline void next_field(const char* p, Py_ssize_t i, Py_ssize_t end, FieldSpan* f) noexcept:
    # The field line starting at i; every reader of a raw header block walks it with this.
    cdef const char* nl = <const char*>memchr(p + i, b'\n', end - i)
    cdef Py_ssize_t line_end = nl - p if nl != NULL else end
    cdef Py_ssize_t colon = i
    cdef Py_ssize_t vs, ve
    while colon < line_end and p[colon] != b':':
        colon += 1
    vs = colon + 1
    while vs < line_end and (p[vs] == b' ' or p[vs] == b'\t'):
        vs += 1
    ve = line_end
    while ve > vs and (p[ve - 1] == b'\r' or p[ve - 1] == b' ' or p[ve - 1] == b'\t'):
        ve -= 1
    f.name_start = i
    f.name_end = colon
    f.value_start = vs
    f.value_end = ve
    f.next = line_end + 1


cdef Headers make_headers(object source):
    cdef Headers h = Headers()
    if source:
        for k, v in (source.items() if hasattr(source, 'items') else source):
            dict.__setitem__(h, str(k).lower(), v)
    h.modified = True
    return h


# Field names repeat from head to head: a small cache hands back the same lower-case str for the same name, so a head
# is read without building, lower-casing and hashing a new str per field.
cdef enum:
    NAME_SLOTS = 256
    NAME_CACHED_MAX = 48
cdef list name_cache_raw = [None] * NAME_SLOTS
cdef list name_cache_str = [None] * NAME_SLOTS


cdef str field_name(const char* p, Py_ssize_t n):
    """The lower-case str of a field name spelled in p[0:n]."""
    cdef char lower[NAME_CACHED_MAX]
    cdef unsigned char c
    cdef unsigned int hash = 2166136261u
    cdef Py_ssize_t i, slot
    cdef bytes seen
    if n > NAME_CACHED_MAX:
        return PyUnicode_DecodeLatin1(p, n, NULL).lower()
    for i in range(n):
        c = <unsigned char>p[i]
        if 65 <= c <= 90:
            c += 32
        lower[i] = <char>c
        hash = (hash ^ c) * 16777619u
    slot = hash % NAME_SLOTS
    seen = <bytes>name_cache_raw[slot]
    if seen is not None and PyBytes_GET_SIZE(seen) == n and memcmp(PyBytes_AS_STRING(seen), lower, n) == 0:
        return <str>name_cache_str[slot]
    name = PyUnicode_DecodeLatin1(lower, n, NULL)
    name_cache_raw[slot] = PyBytes_FromStringAndSize(lower, n)
    name_cache_str[slot] = name
    return name


cdef object header_value(Headers h, str lower_name):
    """A field's value by its lower-case name, or None: what Headers.get does, without a Python call."""
    cdef PyObject* v = PyDict_GetItem(h, lower_name)
    return None if v == NULL else <object>v


cdef inline str latin1(bytes raw, Py_ssize_t a, Py_ssize_t b):
    return raw[a:b].decode('latin-1')


cdef class HttpHead:
    """What request and response heads share: protocol version, headers, and the framing the scanner found."""

    cdef void init_blank(self):
        self.raw = None
        self.version = 11
        self.content_length = -1
        self.keep_alive = True

    @property
    def headers(self):
        if self.headers_cache is None:
            self.headers_cache = self.parse_headers()
        return self.headers_cache

    @headers.setter
    def headers(self, value):
        self.headers_cache = make_headers(value)

    @property
    def protocol(self):
        return 'HTTP/1.0' if self.version == 10 else 'HTTP/1.1'

    @protocol.setter
    def protocol(self, str value):
        self.version = 10 if value.upper() == 'HTTP/1.0' else 11

    cdef Headers parse_headers(self):
        cdef Headers h = Headers()
        cdef bytes raw = self.raw
        cdef const char* p
        cdef Py_ssize_t i, end
        cdef FieldSpan f
        cdef PyObject* old
        if raw is None:
            return h
        p = PyBytes_AS_STRING(raw)
        i = self.hstart
        end = self.hend
        while i < end:
            next_field(p, i, end, &f)
            name = field_name(p + f.name_start, f.name_end - f.name_start)
            value = PyUnicode_DecodeLatin1(p + f.value_start, f.value_end - f.value_start, NULL)
            old = PyDict_GetItem(h, name)
            if old == NULL:
                PyDict_SetItem(h, name, value)
            elif name == 'set-cookie':
                PyDict_SetItem(h, name, (<object>old if isinstance(<object>old, list) else [<object>old]) + [value])
            else:
                PyDict_SetItem(h, name, <object>old + ', ' + value)
            i = f.next
        return h

    cpdef HttpHead copy(self):
        """A copy whose changes do not touch this head."""
        cdef HttpHead h = type(self).__new__(type(self))
        h.raw, h.hstart, h.hend, h.nskip = self.raw, self.hstart, self.hend, self.nskip
        h.skips = self.skips
        h.version, h.content_length, h.chunked, h.keep_alive = self.version, self.content_length, self.chunked, self.keep_alive
        h.connection_upgrade, h.expect_continue = self.connection_upgrade, self.expect_continue
        h.conn_names, h.has_host = self.conn_names, self.has_host
        if self.headers_cache is not None:
            h.headers_cache = Headers(self.headers_cache)
            h.headers_cache.modified = self.headers_cache.modified
        self.copy_line(h)
        return h

    cdef void copy_line(self, HttpHead h):
        pass

    cdef bint headers_untouched(self):
        return self.raw is not None and (self.headers_cache is None or not self.headers_cache.modified)

    cdef int write_headers(self) except -1:
        # Writes the header fields less the hop-by-hop ones, raw when the script left them alone.
        cdef Py_ssize_t pos, k
        cdef const char* p
        if self.headers_untouched():
            p = PyBytes_AS_STRING(self.raw)
            pos = self.hstart
            for k in range(self.nskip):
                if self.skips[2 * k] > pos:
                    wb_add(p + pos, self.skips[2 * k] - pos)
                pos = self.skips[2 * k + 1]
            if self.hend > pos:
                wb_add(p + pos, self.hend - pos)
            return 0
        for name, value in self.headers.items():
            if name in HOP_BY_HOP or (self.conn_names is not None and name in self.conn_names):
                continue
            if isinstance(value, list):
                for v in value:
                    write_field(name, v)
            else:
                write_field(name, value)
        return 0


cdef int write_field(object name, object value) except -1:
    wb_obj(name)
    wb_add(b': ', 2)
    wb_obj(value if isinstance(value, (str, bytes)) else str(value))
    return wb_add(b'\r\n', 2)


cdef class RequestHead(HttpHead):
    """An HTTP request head: method, path, protocol, headers (see Headers)."""

    def __init__(self, method='GET', path='/', headers=None, protocol='HTTP/1.1'):
        self.init_blank()
        self.method_cache = method
        self.path_cache = path
        self.protocol = protocol
        self.headers_cache = make_headers(headers)
        self.line_modified = True

    @property
    def method(self):
        if self.method_cache is None:
            self.method_cache = latin1(self.raw, self.method_start, self.method_end)
        return self.method_cache

    @method.setter
    def method(self, value):
        self.method_cache = value
        self.line_modified = True

    @property
    def path(self):
        if self.path_cache is None:
            self.path_cache = latin1(self.raw, self.path_start, self.path_end)
        return self.path_cache

    @path.setter
    def path(self, value):
        self.path_cache = value
        self.line_modified = True

    cdef void copy_line(self, HttpHead h):
        cdef RequestHead r = <RequestHead>h
        r.method_start, r.method_end, r.path_start, r.path_end = self.method_start, self.method_end, self.path_start, self.path_end
        r.method_cache, r.path_cache, r.line_modified = self.method_cache, self.path_cache, self.line_modified

    cdef bint is_head_method(self):
        if self.method_cache is None and self.raw is not None:
            return self.method_end - self.method_start == 4 and memcmp(PyBytes_AS_STRING(self.raw) + self.method_start, b'HEAD', 4) == 0
        return self.method == 'HEAD'

    cdef int write_line(self) except -1:
        if not self.line_modified and self.raw is not None:
            wb_add(PyBytes_AS_STRING(self.raw) + self.method_start, self.path_end - self.method_start)
        else:
            wb_obj(self.method)
            wb_add(b' ', 1)
            wb_obj(self.path)
        if self.version == 10:
            return wb_add(b' HTTP/1.0\r\n', 11)
        return wb_add(b' HTTP/1.1\r\n', 11)

    def __getitem__(self, key):
        return getattr(self, key)

    def __repr__(self):
        return 'RequestHead(%r, %r, %r)' % (self.method, self.path, dict(self.headers))


cdef class ResponseHead(HttpHead):
    """An HTTP response head: status, status_text, protocol, headers (see Headers)."""

    def __init__(self, status=200, headers=None, status_text=None, protocol='HTTP/1.1'):
        self.init_blank()
        self.status = status
        self.reason_cache = status_text
        self.protocol = protocol
        self.headers_cache = make_headers(headers)

    @property
    def status_text(self):
        if self.reason_cache is None:
            if self.raw is not None:
                self.reason_cache = latin1(self.raw, self.reason_start, self.reason_end)
            else:
                self.reason_cache = STATUS_TEXT.get(self.status, 'Unknown')
        return self.reason_cache

    @status_text.setter
    def status_text(self, value):
        self.reason_cache = value

    cdef void copy_line(self, HttpHead h):
        cdef ResponseHead r = <ResponseHead>h
        r.status, r.reason_cache, r.reason_start, r.reason_end = self.status, self.reason_cache, self.reason_start, self.reason_end

    def __getitem__(self, key):
        return getattr(self, key)

    def __repr__(self):
        return 'ResponseHead(%r, %r)' % (self.status, dict(self.headers))


STATUS_TEXT = {
    100: 'Continue', 101: 'Switching Protocols', 200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content',
    206: 'Partial Content', 301: 'Moved Permanently', 302: 'Found', 303: 'See Other', 304: 'Not Modified',
    307: 'Temporary Redirect', 308: 'Permanent Redirect', 400: 'Bad Request', 401: 'Unauthorized',
    403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 408: 'Request Timeout', 409: 'Conflict',
    411: 'Length Required', 412: 'Precondition Failed', 413: 'Content Too Large', 414: 'URI Too Long',
    415: 'Unsupported Media Type', 416: 'Range Not Satisfiable', 417: 'Expectation Failed', 429: 'Too Many Requests',
    431: 'Request Header Fields Too Large', 500: 'Internal Server Error', 501: 'Not Implemented',
    502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout', 505: 'HTTP Version Not Supported',
}


cdef RequestHead as_request_head(object h):
    if isinstance(h, RequestHead):
        return <RequestHead>h
    if h is None:
        return RequestHead()
    if isinstance(h, dict):
        return RequestHead(h.get('method', 'GET'), h.get('path', '/'), h.get('headers'),
                           h.get('protocol', 'HTTP/1.1'))
    raise TypeError('an HTTP request head must be a RequestHead or a dict, not %s' % type(h).__name__)


cdef ResponseHead as_response_head(object h):
    if isinstance(h, ResponseHead):
        return <ResponseHead>h
    if h is None:
        return ResponseHead()
    if isinstance(h, dict):
        return ResponseHead(int(h.get('status', 200)), h.get('headers'), h.get('status_text'),
                            h.get('protocol', 'HTTP/1.1'))
    raise TypeError('an HTTP response head must be a ResponseHead or a dict, not %s' % type(h).__name__)
