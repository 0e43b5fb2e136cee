# Multipart bodies (RFC 2046, 5.1.1; RFC 7578 for form uploads): a delimiter line "--boundary" opens each part, whose
# header block ends at an empty line; "--boundary--" closes the body. The body is searched for CRLF "--boundary"
# with bytes.find, and only a delimiter's length of it is held back while a part streams: a part of any size goes
# through in the pieces it came in, and only a header block is gathered whole (up to max_header_size).


cdef class MultipartSink:
    """What a MultipartParser reports to: each part's head, its body in pieces, its end; or why the body is bad."""

    cdef int on_part_head(self, PartHead head) except -1:
        return 0

    cdef int on_part_body(self, bytes chunk) except -1:
        return 0

    cdef int on_part_end(self) except -1:
        return 0

    cdef int on_error(self, str reason) except -1:
        return 0


cdef class MultipartLog(MultipartSink):
    """A sink that keeps ('head', PartHead), ('body', bytes) (neighbouring pieces joined), ('end',) and
    ('error', reason); with MultipartParser.feed_bytes() it drives a parser from Python."""

    def __init__(self):
        self.events = []

    cdef int on_part_head(self, PartHead head) except -1:
        self.events.append(('head', head))
        return 0

    cdef int on_part_body(self, bytes chunk) except -1:
        if self.events and self.events[-1][0] == 'body':
            self.events[-1] = ('body', self.events[-1][1] + chunk)
        else:
            self.events.append(('body', chunk))
        return 0

    cdef int on_part_end(self) except -1:
        self.events.append(('end',))
        return 0

    cdef int on_error(self, str reason) except -1:
        self.events.append(('error', reason))
        return 0


cdef str header_text(bytes raw):
    # Browsers send file names in UTF-8 as they are; anything else is kept byte for byte as Latin-1.
    try:
        return raw.decode('utf-8')
    except UnicodeDecodeError:
        return raw.decode('latin-1')


cdef list disposition_params(str value):
    # 'form-data; name="a"; filename="x;y.txt"' -> [('form-data', None), ('name', 'a'), ('filename', 'x;y.txt')]:
    # quoted strings may hold ';' and backslash escapes.
    cdef list out = []
    cdef Py_ssize_t i = 0, n = len(value), j
    cdef str key, val
    while i < n:
        while i < n and value[i] in ' \t;':
            i += 1
        j = i
        while j < n and value[j] not in '=;':
            j += 1
        key = value[i:j].strip().lower()
        i = j
        val = None
        if i < n and value[i] == '=':
            i += 1
            while i < n and value[i] in ' \t':
                i += 1
            if i < n and value[i] == '"':
                i += 1
                parts = []
                while i < n and value[i] != '"':
                    if value[i] == '\\' and i + 1 < n:
                        i += 1
                    parts.append(value[i])
                    i += 1
                i += 1
                val = ''.join(parts)
            else:
                j = i
                while j < n and value[j] != ';':
                    j += 1
                val = value[i:j].strip()
                i = j
        if key:
            out.append((key, val))
    return out


cdef class PartHead:
    """The head of one part of a multipart body: headers (by lower-case name), and from its Content-Disposition
    and Content-Type: name, filename (None when the part is not a file) and content_type."""

    def __init__(self, headers=None):
        self.headers = make_headers(headers)

    cdef object disposition(self, str param):
        v = self.headers.get('content-disposition')
        if v is None:
            return None
        for k, x in disposition_params(v):
            if k == param:
                return x
        return None

    @property
    def name(self):
        return self.disposition('name')

    @property
    def filename(self):
        return self.disposition('filename')

    @property
    def content_type(self):
        return self.headers.get('content-type')

    def __getitem__(self, key):
        return getattr(self, key)

    def __repr__(self):
        return 'PartHead(%r)' % (dict(self.headers),)


cdef object multipart_boundary(object content_type):
    # The boundary of a multipart/* Content-Type as bytes, or None when it is not one (a message that passes).
    if not isinstance(content_type, str) or len(content_type) > 1000:
        return None
    params = disposition_params(content_type)
    if not params or not params[0][0].startswith('multipart/'):
        return None
    for k, v in params[1:]:
        if k == 'boundary' and v and len(v) <= 200:
            try:
                return v.encode('ascii')
            except UnicodeEncodeError:
                return None
    return None


cdef class MultipartParser:
    """MultipartParser(sink, boundary, max_header_size=16384): feed it a multipart body in pieces; it reports each
    part's head, body and end to the sink, or an error (a header block over max_header_size, a part header line
    without a colon, a body that ends before its close delimiter)."""

    def __init__(self, MultipartSink sink, boundary, Py_ssize_t max_header_size=16384):
        if isinstance(boundary, str):
            boundary = boundary.encode('ascii')
        if not boundary:
            raise ValueError('a multipart boundary is 1 to 200 characters')
        self.sink = sink
        self.delimiter = b'\r\n--' + bytes(boundary)
        # (The first delimiter may open the body: a CRLF before it lets one search find them all.)
        self.buf = bytearray(b'\r\n')
        self.state = MP_PREAMBLE
        self.max_header_size = max_header_size

    def feed_bytes(self, data):
        """Feeds bytes (for tests and tools)."""
        self.feed(bytes(data))

    def feed_eof(self):
        """The body has ended."""
        self.finish()

    cdef int feed(self, object chunk) except -1:
        if self.state >= MP_DONE:
            return 0
        self.buf += chunk
        return self.run()

    cdef int finish(self) except -1:
        if self.state < MP_DONE:
            self.fail('the body ended before its closing boundary')
        return 0

    cdef int fail(self, str reason) except -1:
        self.state = MP_FAILED
        self.error = reason
        self.buf = None
        return self.sink.on_error(reason)

    cdef Py_ssize_t delimiter_end(self, Py_ssize_t at) noexcept:
        # A delimiter found at `at` is one only if "--" (the close) or optional blanks and CRLF follow it. Returns
        # where what follows begins (the close's "--" or the CRLF), -1 if more bytes are needed to tell, 0 (never a
        # place after a delimiter) when it is not one after all: "--boundaryX" is body.
        cdef bytearray b = self.buf
        cdef Py_ssize_t j = at + len(self.delimiter), n = len(b), k
        if j + 2 > n:
            return -1
        if b[j] == 45 and b[j + 1] == 45:         # '--'
            return j
        k = j
        while k < n and (b[k] == 32 or b[k] == 9):
            k += 1
            if k - j > 256:
                return 0
        if k + 2 > n:
            return -1
        if b[k] == 13 and b[k + 1] == 10:
            return k
        return 0

    cdef int run(self) except -1:
        cdef bytearray b
        cdef Py_ssize_t i, e, keep, dl = len(self.delimiter), search_from
        while self.state < MP_DONE:
            b = self.buf
            if self.state == MP_HEADERS:
                # The buffer starts with the CRLF that ended the delimiter line; the block ends at an empty line.
                i = b.find(b'\r\n\r\n')
                if i < 0:
                    if len(b) > self.max_header_size:
                        return self.fail('a part header block of over %d bytes (max_header_size)'
                                         % self.max_header_size)
                    return 0
                if i > self.max_header_size:
                    return self.fail('a part header block of over %d bytes (max_header_size)'
                                     % self.max_header_size)
                head = self.parse_head(bytes(b[2:i]) if i > 2 else b'')
                if head is None:
                    return 0
                # (The body starts after the empty line; the CRLF before the next delimiter is the delimiter's.)
                del b[:i + 4]
                self.state = MP_BODY
                self.sink.on_part_head(<PartHead>head)
                continue
            # Preamble or body: look for a delimiter.
            search_from = 0
            while True:
                i = b.find(self.delimiter, search_from)
                if i < 0:
                    keep = dl - 1
                    if len(b) > keep:
                        if self.state == MP_BODY:
                            self.sink.on_part_body(bytes(b[:len(b) - keep]))
                        del b[:len(b) - keep]
                    return 0
                e = self.delimiter_end(i)
                if e == 0:
                    search_from = i + 1           # "--boundary" followed by more: part of the body
                    continue
                break
            if i > 0 and self.state == MP_BODY:
                self.sink.on_part_body(bytes(b[:i]))
            if e < 0:
                del b[:i]                         # wait for the bytes that say whether it is a delimiter
                return 0
            if self.state == MP_BODY:
                self.sink.on_part_end()
            if b[e] == 45:
                self.state = MP_DONE
                self.buf = None
                return 0
            del b[:e]
            self.state = MP_HEADERS
        return 0

    cdef object parse_head(self, bytes block):
        cdef list fields = []
        cdef Headers h
        for line in (block.split(b'\r\n') if block else ()):
            if line[:1] in (b' ', b'\t') and fields:
                # (An obsolete folded line continues the field before it.)
                fields[-1][1] += ' ' + header_text(line.strip())
                continue
            colon = line.find(b':')
            if colon <= 0:
                self.fail('a part header line without a name and a colon: %r' % line[:80])
                return None
            fields.append([header_text(line[:colon].strip()).lower(), header_text(line[colon + 1:].strip())])
        h = Headers()
        for k, v in fields:
            if k in h:
                v = dict.__getitem__(h, k) + ', ' + v
            dict.__setitem__(h, k, v)
        head = PartHead.__new__(PartHead)
        (<PartHead>head).headers = h
        return head
