# HPACK (RFC 7541), sans-I/O: header blocks to (name, value) lists and back, each side keeping its dynamic table
# the way the other side's does. Names and values stay bytes; the HTTP/2 connection decides what they mean.

from libc.stdint cimport uint32_t, uint64_t

class HpackError(ValueError):
    """A header block that cannot be decoded, or a string in it over the limit: a compression error, after which the
    decoder's table is in no known state (the HTTP/2 connection must end)."""


class HpackListTooLarge(HpackError):
    """A header list over max_header_list_size. The whole block was decoded first, so the table is still in step
    and only the message it belongs to need be refused."""


cdef tuple HPACK_STATIC = (
    None,
    (b':authority', b''), (b':method', b'GET'), (b':method', b'POST'), (b':path', b'/'),
    (b':path', b'/index.html'), (b':scheme', b'http'), (b':scheme', b'https'), (b':status', b'200'),
    (b':status', b'204'), (b':status', b'206'), (b':status', b'304'), (b':status', b'400'),
    (b':status', b'404'), (b':status', b'500'), (b'accept-charset', b''), (b'accept-encoding', b'gzip, deflate'),
    (b'accept-language', b''), (b'accept-ranges', b''), (b'accept', b''), (b'access-control-allow-origin', b''),
    (b'age', b''), (b'allow', b''), (b'authorization', b''), (b'cache-control', b''),
    (b'content-disposition', b''), (b'content-encoding', b''), (b'content-language', b''), (b'content-length', b''),
    (b'content-location', b''), (b'content-range', b''), (b'content-type', b''), (b'cookie', b''),
    (b'date', b''), (b'etag', b''), (b'expect', b''), (b'expires', b''), (b'from', b''), (b'host', b''),
    (b'if-match', b''), (b'if-modified-since', b''), (b'if-none-match', b''), (b'if-range', b''),
    (b'if-unmodified-since', b''), (b'last-modified', b''), (b'link', b''), (b'location', b''),
    (b'max-forwards', b''), (b'proxy-authenticate', b''), (b'proxy-authorization', b''), (b'range', b''),
    (b'referer', b''), (b'refresh', b''), (b'retry-after', b''), (b'server', b''), (b'set-cookie', b''),
    (b'strict-transport-security', b''), (b'transfer-encoding', b''), (b'user-agent', b''), (b'vary', b''),
    (b'via', b''), (b'www-authenticate', b''),
)
cdef enum:
    STATIC_COUNT = 61

cdef dict _static_full = {}
cdef dict _static_name = {}
for _i in range(STATIC_COUNT, 0, -1):       # the lowest index wins
    _static_full[HPACK_STATIC[_i]] = _i
    _static_name[HPACK_STATIC[_i][0]] = _i

# Values that change from message to message: indexing them would only push useful entries out of the table.
cdef frozenset _not_indexed = frozenset([
    b':path', b'content-length', b'date', b'etag', b'last-modified', b'if-modified-since', b'if-none-match',
    b'expires', b'age', b'location', b'content-range', b'range', b'referer', b'x-request-id', b'traceparent'])
# Secrets: never indexed by anyone on the way (RFC 7541 section 7.1.3).
cdef frozenset _sensitive = frozenset([b'authorization', b'proxy-authorization', b'set-cookie'])

# The Huffman code of RFC 7541 Appendix B is canonical: the code length of each symbol (0-255, then EOS) is all it
# takes; the codes follow by counting up within each length, shorter lengths first.
cdef unsigned char _HUFF_LEN[257]
cdef uint32_t _huff_code[257]
cdef uint32_t _huff_first[31]           # per length: the first code
cdef int _huff_count[31]                # per length: how many codes
cdef int _huff_offset[31]               # per length: where its symbols start in _huff_sym
cdef int _huff_sym[257]                 # the symbols in code order

_lens = (
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28,
    28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6,
    12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, 15,
    5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22, 20, 20,
    22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
    22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22,
    23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24,
    21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26,
    27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30)


cdef void _huffman_init():
    cdef int s, L, n = 0
    cdef uint32_t code = 0
    for s in range(257):
        _HUFF_LEN[s] = _lens[s]
    for L in range(31):
        _huff_count[L] = 0
    for L in range(1, 31):
        _huff_first[L] = code
        _huff_offset[L] = n
        for s in range(257):
            if _HUFF_LEN[s] == L:
                _huff_code[s] = code
                _huff_sym[n] = s
                n += 1
                code += 1
                _huff_count[L] += 1
        code <<= 1

_huffman_init()


cdef Py_ssize_t huffman_length(const unsigned char* p, Py_ssize_t n) noexcept:
    # Bytes the Huffman form of p[0:n] takes.
    cdef Py_ssize_t bits = 0, i
    for i in range(n):
        bits += _HUFF_LEN[p[i]]
    return (bits + 7) >> 3


cdef int _huffman_encode(const unsigned char* p, Py_ssize_t n) except -1:
    cdef uint64_t acc = 0
    cdef int nbits = 0, L
    cdef Py_ssize_t i
    cdef char out[8]
    cdef int k = 0
    for i in range(n):
        L = _HUFF_LEN[p[i]]
        acc = (acc << L) | _huff_code[p[i]]
        nbits += L
        while nbits >= 8:
            nbits -= 8
            out[k] = <char>((acc >> nbits) & 0xFF)
            k += 1
            if k == 8:
                wb_add(out, 8)
                k = 0
    if nbits:
        # Padded with the most significant bits of EOS: all ones.
        out[k] = <char>(((acc << (8 - nbits)) | ((1 << (8 - nbits)) - 1)) & 0xFF)
        k += 1
    if k:
        wb_add(out, k)
    return 0


cdef bytes _huffman_decode(const unsigned char* p, Py_ssize_t n, Py_ssize_t limit):
    cdef uint64_t acc = 0
    cdef int nbits = 0, L
    cdef uint32_t code
    cdef Py_ssize_t i = 0, k = 0
    cdef int s
    cdef bytearray out = bytearray(min(n * 8 // 5 + 1, limit + 1))
    cdef unsigned char* o = <unsigned char*><char*>out
    while True:
        while nbits <= 56 and i < n:
            acc = (acc << 8) | p[i]
            nbits += 8
            i += 1
        if nbits < 5:
            break
        # The shortest code is 5 bits: try each length in turn against the codes of that length.
        s = -1
        for L in range(5, 31):
            if L > nbits:
                break
            code = <uint32_t>((acc >> (nbits - L)) & ((1 << L) - 1))
            if code - _huff_first[L] < <uint32_t>_huff_count[L]:
                s = _huff_sym[_huff_offset[L] + code - _huff_first[L]]
                break
        if s < 0:
            break                          # the rest is padding (or a code cut short: checked below)
        if s == 256:
            raise HpackError('EOS inside a Huffman-coded string')
        nbits -= L
        if k >= limit:
            raise HpackError('a header string longer than %d bytes' % limit)
        o[k] = <unsigned char>s
        k += 1
    if nbits > 7 or (acc & ((1 << nbits) - 1)) != <uint64_t>((1 << nbits) - 1):
        raise HpackError('bad Huffman padding')
    return bytes(out[:k])


cdef int hpack_put_int(Py_ssize_t v, int prefix_bits, int first) except -1:
    # An integer with an N-bit prefix, the first byte's other bits already set in `first`.
    cdef int maxp = (1 << prefix_bits) - 1
    cdef char b
    if v < maxp:
        b = <char>(first | v)
        return wb_add(&b, 1)
    b = <char>(first | maxp)
    wb_add(&b, 1)
    v -= maxp
    while v >= 128:
        b = <char>((v & 0x7F) | 0x80)
        wb_add(&b, 1)
        v >>= 7
    b = <char>v
    return wb_add(&b, 1)


cdef int hpack_put_string(bytes s) except -1:
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(s)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(s)
    cdef Py_ssize_t h = huffman_length(p, n)
    if h < n:
        hpack_put_int(h, 7, 0x80)
        return _huffman_encode(p, n)
    hpack_put_int(n, 7, 0)
    return wb_add(<const char*>p, n)


cdef inline Py_ssize_t _get_int(const unsigned char* p, Py_ssize_t* pos, Py_ssize_t end, int prefix_bits) except -2:
    cdef Py_ssize_t i = pos[0]
    cdef int maxp = (1 << prefix_bits) - 1
    cdef Py_ssize_t v = p[i] & maxp
    cdef int shift = 0
    cdef unsigned char b
    i += 1
    if v == maxp:
        while True:
            if i >= end:
                raise HpackError('a header block ends inside an integer')
            b = p[i]
            i += 1
            v += (<Py_ssize_t>(b & 0x7F)) << shift
            shift += 7
            if v > 0x7FFFFFFF or shift > 35:
                raise HpackError('an integer too large in a header block')
            if not (b & 0x80):
                break
    pos[0] = i
    return v


cdef bytes _get_string(const unsigned char* p, Py_ssize_t* pos, Py_ssize_t end, Py_ssize_t limit):
    cdef bint huff
    cdef Py_ssize_t n, i
    if pos[0] >= end:
        raise HpackError('a header block ends before a string')
    huff = p[pos[0]] & 0x80
    n = _get_int(p, pos, end, 7)
    i = pos[0]
    if n > end - i:
        raise HpackError('a header string runs past the end of its block')
    pos[0] = i + n
    if huff:
        return _huffman_decode(p + i, n, limit)
    if n > limit:
        raise HpackError('a header string longer than %d bytes' % limit)
    return PyBytes_FromStringAndSize(<const char*>p + i, n)


cdef class HpackDecoder:
    """Decodes header blocks (RFC 7541) into lists of (name, value) bytes pairs. The peer's dynamic table lives here
    from block to block, so blocks must be decoded in the order they came. Anything malformed or over a limit raises
    HpackError; after one, the table is in no known state and the connection must end."""

    def __init__(self, Py_ssize_t max_table_size=4096, Py_ssize_t max_header_list_size=65536,
                 Py_ssize_t max_string=65536):
        self.table = []
        self.size = 0
        self.max_size = max_table_size
        self.allowed_size = max_table_size
        self.max_header_list_size = max_header_list_size
        self.max_string = max_string

    @property
    def table_size(self):
        return self.size

    cpdef list decode(self, bytes block):
        cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(block)
        cdef Py_ssize_t end = PyBytes_GET_SIZE(block), pos = 0, idx, total = 0
        cdef unsigned char b
        cdef bint indexing, seen_field = False, too_large = False
        cdef list out = []
        cdef bytes name, value
        cdef tuple e
        while pos < end:
            b = p[pos]
            if b & 0x80:                                  # indexed field
                idx = _get_int(p, &pos, end, 7)
                e = self.entry(idx)
                name = e[0]
                value = e[1]
            elif (b & 0xE0) == 0x20:                      # dynamic table size update
                if seen_field:
                    raise HpackError('a table size update after a field')
                idx = _get_int(p, &pos, end, 5)
                if idx > self.allowed_size:
                    raise HpackError('a table size update to %d, over the %d allowed' % (idx, self.allowed_size))
                self.max_size = idx
                self.evict(0)
                continue
            else:
                indexing = (b & 0xC0) == 0x40
                idx = _get_int(p, &pos, end, 6 if indexing else 4)
                if idx:
                    name = self.entry(idx)[0]
                else:
                    name = _get_string(p, &pos, end, self.max_string)
                value = _get_string(p, &pos, end, self.max_string)
                if indexing:
                    self.add(name, value)
            seen_field = True
            total += PyBytes_GET_SIZE(name) + PyBytes_GET_SIZE(value) + 32
            if total > self.max_header_list_size:
                too_large = True
            else:
                out.append((name, value))
        if too_large:
            raise HpackListTooLarge('a header list over %d bytes' % self.max_header_list_size)
        return out

    cdef tuple entry(self, Py_ssize_t index):
        cdef Py_ssize_t n = len(self.table)
        if 0 < index <= STATIC_COUNT:
            return <tuple>HPACK_STATIC[index]
        if STATIC_COUNT < index <= STATIC_COUNT + n:
            return <tuple>self.table[n - (index - STATIC_COUNT)]
        raise HpackError('header index %d out of range' % index)

    cdef int add(self, bytes name, bytes value) except -1:
        cdef Py_ssize_t sz = PyBytes_GET_SIZE(name) + PyBytes_GET_SIZE(value) + 32
        if sz > self.max_size:
            self.table = []                # an entry bigger than the table empties it (RFC 7541 4.4)
            self.size = 0
            return 0
        self.evict(sz)
        self.table.append((name, value))
        self.size += sz
        return 0

    cdef int evict(self, Py_ssize_t room) except -1:
        cdef tuple e
        cdef Py_ssize_t drop = 0
        while self.size + room > self.max_size and drop < len(self.table):
            e = <tuple>self.table[drop]
            self.size -= PyBytes_GET_SIZE(<bytes>e[0]) + PyBytes_GET_SIZE(<bytes>e[1]) + 32
            drop += 1
        if drop:
            del self.table[:drop]
        return 0

    def set_allowed_table_size(self, Py_ssize_t n):
        """What our SETTINGS_HEADER_TABLE_SIZE allows the peer's encoder to use from now on."""
        self.allowed_size = n
        if self.max_size > n:
            self.max_size = n
            self.evict(0)


cdef class HpackEncoder:
    """Encodes header lists into blocks (RFC 7541). Fields that repeat from message to message (method, scheme,
    content-type, server, ...) go into the dynamic table and cost a byte or two next time; fields whose values change
    every time (path, content-length, date, ...) are sent literally without filling the table; secrets
    (authorization, set-cookie, and any field given as (name, value, True)) are sent never-indexed. A string goes
    Huffman-coded when that is shorter."""

    def __init__(self, Py_ssize_t max_table_size=4096):
        self.table = []
        self.full_index = {}
        self.name_index = {}
        self.inserted = 0
        self.size = 0
        self.max_size = max_table_size
        self.pending_update = -1
        self.lowest_update = -1

    def set_max_table_size(self, Py_ssize_t n):
        """The peer's SETTINGS_HEADER_TABLE_SIZE: the table shrinks (or may grow) to it, and the next block says so."""
        if n == self.max_size and self.pending_update < 0:
            return
        if self.lowest_update < 0 or n < self.lowest_update:
            self.lowest_update = n
        self.pending_update = n
        self.max_size = n
        self.evict(0)

    cpdef bytes encode(self, object headers):
        """headers: (name, value) or (name, value, sensitive) items, names and values bytes or str."""
        wb_reset()
        if self.pending_update >= 0:
            if self.lowest_update < self.pending_update:
                hpack_put_int(self.lowest_update, 5, 0x20)
            hpack_put_int(self.pending_update, 5, 0x20)
            self.pending_update = -1
            self.lowest_update = -1
        for item in headers:
            name = item[0]
            value = item[1]
            if not PyBytes_Check(name):
                name = (<str>name).encode('latin-1').lower()
            if not PyBytes_Check(value):
                value = str(value).encode('latin-1') if not isinstance(value, (bytes, bytearray)) else bytes(value)
            self.encode_field(name, value, len(item) > 2 and item[2])
        return wb_take()

    cdef int encode_field(self, bytes name, bytes value, bint sensitive) except -1:
        cdef object i
        cdef Py_ssize_t ni = 0
        key = (name, value)
        if not sensitive:
            i = _static_full.get(key)
            if i is not None:
                return hpack_put_int(<Py_ssize_t>i, 7, 0x80)
            i = self.full_index.get(key)
            if i is not None:
                ni = self.dynamic_index(<Py_ssize_t>i)
                if ni:
                    return hpack_put_int(ni, 7, 0x80)
        i = _static_name.get(name)
        if i is not None:
            ni = <Py_ssize_t>i
        else:
            i = self.name_index.get(name)
            if i is not None:
                ni = self.dynamic_index(<Py_ssize_t>i)
        if sensitive or name in _sensitive:
            hpack_put_int(ni, 4, 0x10)
        elif name in _not_indexed or PyBytes_GET_SIZE(name) + PyBytes_GET_SIZE(value) + 32 > self.max_size // 2:
            hpack_put_int(ni, 4, 0x00)
        else:
            hpack_put_int(ni, 6, 0x40)
            self.add(name, value)
        if ni == 0:
            hpack_put_string(name)
        return hpack_put_string(value)

    cdef Py_ssize_t dynamic_index(self, Py_ssize_t n):
        # The index of the entry inserted n-th, or 0 if it has been evicted.
        cdef Py_ssize_t age = self.inserted - n            # 0 for the newest
        if age < 0 or age >= len(self.table):
            return 0
        return STATIC_COUNT + 1 + age

    cdef int add(self, bytes name, bytes value) except -1:
        cdef Py_ssize_t sz = PyBytes_GET_SIZE(name) + PyBytes_GET_SIZE(value) + 32
        self.evict(sz)
        self.inserted += 1
        if sz > self.max_size:
            self.table = []
            self.size = 0
            return 0
        self.table.append((name, value))
        self.size += sz
        self.full_index[(name, value)] = self.inserted
        self.name_index[name] = self.inserted
        return 0

    cdef int evict(self, Py_ssize_t room) except -1:
        cdef tuple e
        cdef Py_ssize_t drop = 0, first = self.inserted - len(self.table) + 1
        while self.size + room > self.max_size and drop < len(self.table):
            e = <tuple>self.table[drop]
            self.size -= PyBytes_GET_SIZE(<bytes>e[0]) + PyBytes_GET_SIZE(<bytes>e[1]) + 32
            # Forget the indexes that point at the evicted entry (and not at a newer one with the same key).
            if self.full_index.get(e) == first + drop:
                del self.full_index[e]
            if self.name_index.get(e[0]) == first + drop:
                del self.name_index[e[0]]
            drop += 1
        if drop:
            del self.table[:drop]
        return 0
