# HTTP message heads. A head decoded from the wire keeps the raw bytes and offsets the scanner found; method, path,
# status and the header mapping become Python objects only when a script reads them, and an encoder writes the raw
# header block straight back out (less the hop-by-hop lines) unless the script changed the headers.

cdef enum:
    MAX_SKIPS = 12

# Header names an intermediary must not forward as they are: hop-by-hop ones, and the framing it redoes itself.
HOP_BY_HOP = frozenset(('connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'content-length', 'te',
                        'trailer', 'upgrade'))


cdef class Headers(dict):
    """Header fields by lower-case name. Values are str; repeated Set-Cookie fields are a list of str."""
    cdef bint modified

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


cdef Headers make_headers(object source):
    cdef Headers h = Headers()
    if source:
        for k, v in (source.items() if hasattr(source, 'items') else source):
            dict.__setitem__(h, str(k).lower(), v)
    h.modified = True
    return h


cdef inline str latin1(bytes raw, Py_ssize_t a, Py_ssize_t b):
    return raw[a:b].decode('latin-1')


cdef class HttpHead:
    """What request and response heads share: protocol version, headers, and the framing the scanner found."""
    cdef bytes _raw                      # bytes holding the head (None for a head made by a script)
    cdef Py_ssize_t _hstart, _hend       # the header block in _raw: from the first field to the blank line
    cdef int _nskip
    cdef Py_ssize_t _skips[2 * MAX_SKIPS]  # [start, end) of each hop-by-hop field line in the block
    cdef Headers _headers
    cdef public int version              # 10 for HTTP/1.0, 11 for HTTP/1.1
    cdef public int64_t content_length   # -1 when the head gave none
    cdef public bint chunked
    cdef public bint keep_alive          # what the sender asked for, with its version's default
    cdef public bint connection_upgrade
    cdef public bint expect_continue
    cdef object conn_names               # extra field names the Connection header listed, or None
    cdef bint has_host

    cdef void _init_blank(self):
        self._raw = None
        self.version = 11
        self.content_length = -1
        self.keep_alive = True

    @property
    def headers(self):
        if self._headers is None:
            self._headers = self._parse_headers()
        return self._headers

    @headers.setter
    def headers(self, value):
        self._headers = make_headers(value)

    @property
    def protocol(self):
        return 'HTTP/1.0' if self.version == 10 else 'HTTP/1.1'

    @protocol.setter
    def protocol(self, str value):
        self.version = 10 if value.upper() == 'HTTP/1.0' else 11

    cdef Headers _parse_headers(self):
        cdef Headers h = Headers()
        cdef bytes raw = self._raw
        cdef const char* p
        cdef Py_ssize_t i, end, line_end, colon, vs, ve
        if raw is None:
            return h
        p = PyBytes_AS_STRING(raw)
        i = self._hstart
        end = self._hend
        while i < end:
            line_end = i
            while line_end < end and p[line_end] != b'\n':
                line_end += 1
            colon = i
            while colon < line_end and p[colon] != b':':
                colon += 1
            vs = colon + 1
            while vs < line_end and (p[vs] == b' ' or p[vs] == b'\t'):
                vs += 1
            ve = line_end
            while ve > vs and (p[ve - 1] == b'\r' or p[ve - 1] == b' ' or p[ve - 1] == b'\t'):
                ve -= 1
            name = raw[i:colon].decode('latin-1').lower()
            value = raw[vs:ve].decode('latin-1')
            old = dict.get(h, name)
            if old is None:
                dict.__setitem__(h, name, value)
            elif name == 'set-cookie':
                dict.__setitem__(h, name, (old if isinstance(old, list) else [old]) + [value])
            else:
                dict.__setitem__(h, name, old + ', ' + value)
            i = line_end + 1
        return h

    cpdef HttpHead copy(self):
        """A copy whose changes do not touch this head."""
        cdef HttpHead h = type(self).__new__(type(self))
        h._raw, h._hstart, h._hend, h._nskip = self._raw, self._hstart, self._hend, self._nskip
        h._skips = self._skips
        h.version, h.content_length, h.chunked, h.keep_alive = self.version, self.content_length, self.chunked, self.keep_alive
        h.connection_upgrade, h.expect_continue = self.connection_upgrade, self.expect_continue
        h.conn_names, h.has_host = self.conn_names, self.has_host
        if self._headers is not None:
            h._headers = Headers(self._headers)
            h._headers.modified = self._headers.modified
        self._copy_line(h)
        return h

    cdef void _copy_line(self, HttpHead h):
        pass

    cdef bint headers_untouched(self):
        return self._raw is not None and (self._headers is None or not self._headers.modified)

    cdef int write_headers(self) except -1:
        # Writes the header fields less the hop-by-hop ones, raw when the script left them alone.
        cdef Py_ssize_t pos, k
        cdef const char* p
        if self.headers_untouched():
            p = PyBytes_AS_STRING(self._raw)
            pos = self._hstart
            for k in range(self._nskip):
                if self._skips[2 * k] > pos:
                    wb_add(p + pos, self._skips[2 * k] - pos)
                pos = self._skips[2 * k + 1]
            if self._hend > pos:
                wb_add(p + pos, self._hend - pos)
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
    cdef Py_ssize_t _ms, _me, _ps, _pe    # method and request-target in _raw
    cdef object _method
    cdef object _path
    cdef public bint line_modified

    def __init__(self, method='GET', path='/', headers=None, protocol='HTTP/1.1'):
        self._init_blank()
        self._method = method
        self._path = path
        self.protocol = protocol
        self._headers = make_headers(headers)
        self.line_modified = True

    @property
    def method(self):
        if self._method is None:
            self._method = latin1(self._raw, self._ms, self._me)
        return self._method

    @method.setter
    def method(self, value):
        self._method = value
        self.line_modified = True

    @property
    def path(self):
        if self._path is None:
            self._path = latin1(self._raw, self._ps, self._pe)
        return self._path

    @path.setter
    def path(self, value):
        self._path = value
        self.line_modified = True

    cdef void _copy_line(self, HttpHead h):
        cdef RequestHead r = <RequestHead>h
        r._ms, r._me, r._ps, r._pe = self._ms, self._me, self._ps, self._pe
        r._method, r._path, r.line_modified = self._method, self._path, self.line_modified

    cdef bint is_head_method(self):
        if self._method is None and self._raw is not None:
            return self._me - self._ms == 4 and memcmp(PyBytes_AS_STRING(self._raw) + self._ms, b'HEAD', 4) == 0
        return self.method == 'HEAD'

    cdef int write_line(self) except -1:
        if not self.line_modified and self._raw is not None:
            wb_add(PyBytes_AS_STRING(self._raw) + self._ms, self._pe - self._ms)
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
    cdef public int status
    cdef object _reason
    cdef Py_ssize_t _rs, _re

    def __init__(self, status=200, headers=None, status_text=None, protocol='HTTP/1.1'):
        self._init_blank()
        self.status = status
        self._reason = status_text
        self.protocol = protocol
        self._headers = make_headers(headers)

    @property
    def status_text(self):
        if self._reason is None:
            if self._raw is not None:
                self._reason = latin1(self._raw, self._rs, self._re)
            else:
                self._reason = STATUS_TEXT.get(self.status, 'Unknown')
        return self._reason

    @status_text.setter
    def status_text(self, value):
        self._reason = value

    cdef void _copy_line(self, HttpHead h):
        cdef ResponseHead r = <ResponseHead>h
        r.status, r._reason, r._rs, r._re = self.status, self._reason, self._rs, self._re

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
