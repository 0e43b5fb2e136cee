# FastCGI (the FastCGI 1.0 specification): records of an 8-byte header (version 1, type, request id, content length,
# padding length) and up to 65535 bytes of content. A request is BEGIN_REQUEST, its PARAMS stream (name-value pairs,
# each length in 1 byte below 128 or 4 bytes with the top bit set), ended by an empty PARAMS record, then STDIN the same
# way; the answer is STDOUT (a CGI response: header fields, an empty line, the body), STDERR, and END_REQUEST.
# Sans-I/O: bytes in, records out; the filters in filters/mux_fastcgi and filters/demux_fastcgi give them meaning.

cdef bytes FCGI_PADDING = bytes(8)


cdef class FastCgiRecordReader:
    """Splits a stream of FastCGI records. feed() the bytes as they come; next_record() then returns each complete
    record's type (its request_id and content in the fields of those names), or -1 when it needs more bytes. A
    header with a version other than 1 raises ValueError: the stream is not FastCGI. At most one record (64 KiB
    and its padding) is held."""

    def __init__(self):
        self.buf = bytearray()

    def feed_bytes(self, data):
        """For tests and tools: feeds bytes, returns the complete records as (type, request_id, content)."""
        out = []
        self.feed(bytes(data))
        while self.next_record() >= 0:
            out.append((self.record_type, self.request_id, self.content))
        return out

    def feed_eof(self):
        """The stream has ended: a record cut short raises ValueError."""
        if self.pending():
            raise ValueError('the stream ended inside a record')

    cdef int feed(self, object chunk) except -1:
        if self.pos:
            del self.buf[:self.pos]
            self.pos = 0
        self.buf += chunk
        return 0

    cdef int next_record(self) except -2:
        cdef bytearray b = self.buf
        cdef Py_ssize_t p = self.pos, n = len(b), clen, plen
        if n - p < 8:
            return -1
        if b[p] != 1:
            raise ValueError('a record of FastCGI version %d (only 1 exists): not FastCGI' % b[p])
        clen = b[p + 4] << 8 | b[p + 5]
        plen = b[p + 6]
        if n - p < 8 + clen + plen:
            return -1
        self.record_type = b[p + 1]
        self.request_id = b[p + 2] << 8 | b[p + 3]
        self.content = bytes(b[p + 8:p + 8 + clen]) if clen else b''
        self.pos = p + 8 + clen + plen
        if self.pos == n:
            del b[:]
            self.pos = 0
        return self.record_type

    cdef bint pending(self):
        return len(self.buf) > self.pos


cdef inline bytes record_header(int rtype, int request_id, Py_ssize_t clen, int plen):
    cdef unsigned char h[8]
    h[0] = 1
    h[1] = rtype
    h[2] = (request_id >> 8) & 0xff
    h[3] = request_id & 0xff
    h[4] = (clen >> 8) & 0xff
    h[5] = clen & 0xff
    h[6] = plen
    h[7] = 0
    return PyBytes_FromStringAndSize(<char*>h, 8)


cdef bytes fastcgi_record(int rtype, int request_id, bytes content):
    # One record of at most 65535 bytes of content, padded to a multiple of 8 as the specification recommends.
    cdef Py_ssize_t n = len(content)
    cdef int plen = (8 - (n & 7)) & 7
    return record_header(rtype, request_id, n, plen) + content + FCGI_PADDING[:plen]


cdef Data fastcgi_records(int rtype, int request_id, object content):
    # content (bytes, a memoryview or a Data) as records of its type; the content's chunks are not copied. Empty
    # content is the one empty record that ends a stream of that type.
    cdef Data out = Data.__new__(Data)
    cdef Py_ssize_t n, off, k, i
    cdef int plen
    if isinstance(content, Data):
        chunks = [(<Data>content).chunk_at(i) for i in range((<Data>content).chunk_count())]
    else:
        chunks = [content]
    for c in chunks:
        if isinstance(c, FileChunk):
            raise ValueError('a file span cannot go into FastCGI records: read it first')
        n = len(c)
        off = 0
        while off < n:
            k = min(n - off, FCGI_MAX_CONTENT - 7)   # (a whole piece and its padding: 65528 bytes at most)
            plen = (8 - (k & 7)) & 7
            out.append_chunk(record_header(rtype, request_id, k, plen))
            out.append_chunk(c if off == 0 and k == n else memoryview(c)[off:off + k])
            if plen:
                out.append_chunk(FCGI_PADDING[:plen])
            off += k
    if not chunks or all(len(c) == 0 for c in chunks):
        out.append_chunk(record_header(rtype, request_id, 0, 0))
    return out


cdef inline void pair_length(bytearray out, Py_ssize_t n):
    if n < 128:
        out.append(n)
    else:
        out += bytes(((n >> 24) & 0x7f | 0x80, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff))


cdef inline bytes param_bytes(object v):
    if isinstance(v, bytes):
        return v
    if not isinstance(v, str):
        v = str(v)
    try:
        return (<str>v).encode('latin-1')      # (header values are Latin-1 text: byte for byte as they came)
    except UnicodeEncodeError:
        return (<str>v).encode('utf-8')


cdef bytes fastcgi_params(object pairs):
    # Name-value pairs (a dict, or (name, value) pairs) as the bytes of a PARAMS stream.
    cdef bytearray out = bytearray()
    cdef bytes k, v
    for name, value in (pairs.items() if hasattr(pairs, 'items') else pairs):
        if value is None:
            continue
        k = param_bytes(name)
        v = param_bytes(value)
        if len(k) > 0x7fffffff or len(v) > 0x7fffffff:
            raise ValueError('a FastCGI param longer than 2 GiB')
        pair_length(out, len(k))
        pair_length(out, len(v))
        out += k
        out += v
    return bytes(out)


cdef list parse_fastcgi_params(bytes content):
    # The name-value pairs of a whole PARAMS stream as [(str, str)], Latin-1; a length that runs past the end of
    # the stream raises ValueError.
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(content)
    cdef Py_ssize_t n = len(content), i = 0, ln[2], j
    cdef list out = []
    while i < n:
        for j in range(2):
            if i >= n:
                raise ValueError('a name-value pair cut short in its lengths')
            if p[i] & 0x80:
                if i + 4 > n:
                    raise ValueError('a name-value pair cut short in its lengths')
                ln[j] = (<Py_ssize_t>(p[i] & 0x7f) << 24) | (p[i + 1] << 16) | (p[i + 2] << 8) | p[i + 3]
                i += 4
            else:
                ln[j] = p[i]
                i += 1
        if ln[0] > n - i or ln[1] > n - i - ln[0]:
            raise ValueError('a name-value pair of %d + %d bytes where %d are left' % (ln[0], ln[1], n - i))
        out.append((content[i:i + ln[0]].decode('latin-1'), content[i + ln[0]:i + ln[0] + ln[1]].decode('latin-1')))
        i += ln[0] + ln[1]
    return out


cdef bytes fastcgi_end_request(int request_id, int app_status, int protocol_status):
    cdef bytes body = bytes(((app_status >> 24) & 0xff, (app_status >> 16) & 0xff, (app_status >> 8) & 0xff,
                             app_status & 0xff, protocol_status, 0, 0, 0))
    return fastcgi_record(FCGI_END_REQUEST, request_id, body)


cdef tuple parse_cgi_head(bytes block):
    # A CGI response's header block (RFC 3875, 6.3), without its empty line: (status, reason or None, Headers).
    # Status comes from a Status field; a Location without one is a redirect (302). Repeated fields are joined as an
    # HTTP head's are (Set-Cookie as a list). A line without a colon raises ValueError.
    cdef int status = 200
    cdef bint has_status = False
    cdef Headers h = Headers()
    reason = None
    for line in block.split(b'\n'):
        if line.endswith(b'\r'):
            line = line[:-1]
        if not line:
            continue
        colon = line.find(b':')
        if colon <= 0:
            raise ValueError('a CGI header line without a colon: %r' % line[:80])
        name = line[:colon].strip().decode('latin-1').lower()
        value = line[colon + 1:].strip().decode('latin-1')
        if name == 'status':
            code, _, text = value.partition(' ')
            if len(code) != 3 or not code.isdigit():
                raise ValueError('a CGI Status that is not a 3-digit code: %r' % value[:80])
            status = int(code)
            reason = text.strip() or None
            has_status = True
            continue
        old = dict.get(h, name)
        if old is None:
            dict.__setitem__(h, name, value)
        elif name == 'set-cookie':
            dict.__setitem__(h, name, (old if isinstance(old, list) else [old]) + [value])
        else:
            dict.__setitem__(h, name, old + ', ' + value)
    if not has_status and 'location' in h:
        status = 302
    h.modified = True
    return status, reason, h


def decode_cgi_head(block):
    """A CGI response header block (without its empty line) as (status, reason or None, headers)."""
    return parse_cgi_head(bytes(block))


def encode_fastcgi_record(int rtype, int request_id, content=b''):
    """The bytes of FastCGI records of type rtype carrying content (split into records of up to 65528 bytes; empty
    content: the one empty record that ends a stream)."""
    return fastcgi_records(rtype, request_id, bytes(content)).to_bytes()


def encode_fastcgi_params(pairs):
    """Name-value pairs (a dict or (name, value) pairs) as the bytes of a PARAMS stream."""
    return fastcgi_params(pairs)


def decode_fastcgi_params(content):
    """The bytes of a whole PARAMS stream as [(name, value)]; ValueError when a length runs past its end."""
    return parse_fastcgi_params(bytes(content))
