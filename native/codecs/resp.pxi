from libc.stdint cimport uint64_t

# RESP, the Redis protocol (RESP2 and RESP3), sans-I/O. RespParser finds where each frame ends without making an
# object per element: a frame becomes one RespHead over its wire bytes, and what a script reads of it (the command
# name and arguments, the value) is parsed from those bytes when first read. A head nobody changed is written back as
# those bytes, so a proxy that only looks passes every frame byte for byte.

class RespError(str):
    """A RESP error reply ('-ERR ...' or a RESP3 bulk error): its text."""


class RespVerbatim(str):
    """A RESP3 verbatim string: its text, and its three-letter format ('txt', 'mkd') in .format."""

    def __new__(cls, text, format='txt'):
        s = str.__new__(cls, text)
        s.format = format
        return s


class RespBigNumber(int):
    """A RESP3 big number."""


class RespSet(list):
    """A RESP3 set, in the order it came (its members may be lists, which a Python set cannot hold)."""


class RespPush(list):
    """A RESP3 push: out-of-band data (pub/sub messages, invalidations), not a reply to a command."""


class RespProtocolError(ValueError):
    """Input that breaks RESP; the text is what redis-server answers to it ('Protocol error: ...')."""


_RESP_TYPE_NAMES = {
    ord('+'): 'simple', ord('-'): 'error', ord(':'): 'integer', ord('$'): 'bulk', ord('*'): 'array',
    ord('_'): 'null', ord(','): 'double', ord('#'): 'boolean', ord('!'): 'error', ord('='): 'verbatim',
    ord('('): 'big_number', ord('%'): 'map', ord('~'): 'set', ord('>'): 'push', RESP_INLINE: 'inline',
}


cdef inline bint resp_type_byte(char c) noexcept:
    return c in b'+-:$*_,#!=(%~>|'


cdef int resp_parse_int(const char* p, Py_ssize_t n, int64_t* out) noexcept:
    # A decimal with an optional '-': 0, or -1 when it is none (no digits, another byte, outside 64 bits).
    cdef Py_ssize_t i = 0
    cdef bint neg = False
    cdef uint64_t v = 0, most
    cdef int d
    if n > 0 and p[0] == b'-':
        neg = True
        i = 1
    if i >= n:
        return -1
    most = 0x8000000000000000 if neg else 0x7fffffffffffffff
    while i < n:
        d = p[i] - 48
        if d < 0 or d > 9 or v > (most - <uint64_t>d) // 10:
            return -1
        v = v * 10 + d
        i += 1
    out[0] = <int64_t>(0 - v) if neg else <int64_t>v
    return 0


cdef class RespLimits:
    """What one decode_resp accepts: the limits of a bulk string, an aggregate, nesting, an inline command and a
    whole message, and whether a frame not starting with a type byte is an inline command."""

    def __init__(self, Py_ssize_t max_bulk_length=512 << 20, Py_ssize_t max_array_length=1 << 24, int max_depth=32,
                 Py_ssize_t max_inline_length=64 << 10, Py_ssize_t max_message_size=512 << 20, bint inline=True):
        if not 1 <= max_depth <= RESP_MAX_DEPTH_LIMIT:
            raise ValueError('max_depth is from 1 to %d, not %d' % (RESP_MAX_DEPTH_LIMIT, max_depth))
        self.max_bulk_length = max_bulk_length
        self.max_array_length = max_array_length
        self.max_depth = max_depth
        self.max_inline_length = max_inline_length
        self.max_message_size = max_message_size
        self.inline = inline


cdef class RespParser:
    """Bytes in (feed), whole frames out as RespHeads. Input that breaks the protocol raises RespProtocolError with
    the text redis-server would answer, and the parser takes nothing more."""

    def __init__(self, RespLimits limits=None):
        self.limits = limits if limits is not None else RespLimits()

    def feed(self, data):
        """The frames completed by data (bytes), as a list of RespHead."""
        out = []
        self.feed_chunk(data, out)
        return out

    @property
    def buffered(self):
        """Whether a frame has begun and not ended (at the stream's end: a truncated frame)."""
        return self.pending()

    cdef bint pending(self):
        return (self.buf is not None and self.start < PyBytes_GET_SIZE(self.buf)) or self.more_bytes > 0

    cdef int fail(self, str message) except -1:
        self.error = message
        self.buf = None
        self.more = None
        self.more_bytes = 0
        raise RespProtocolError(message)

    cdef int feed_chunk(self, object chunk, list out) except -1:
        cdef Py_ssize_t have
        if self.error is not None:
            raise RespProtocolError(self.error)
        if not PyBytes_Check(chunk):
            chunk = bytes(chunk)
        if PyBytes_GET_SIZE(chunk) == 0:
            return 0
        if self.buf is None:
            self.buf = <bytes>chunk
            self.start = self.pos = self.need = 0
        else:
            if self.more is None:
                self.more = []
            self.more.append(chunk)
            self.more_bytes += PyBytes_GET_SIZE(chunk)
            have = PyBytes_GET_SIZE(self.buf) + self.more_bytes
            if have < self.need:
                return 0
            # (Joined once the frame can go on: a 1 MiB value in 64 KiB reads is one join, not sixteen.)
            self.more.insert(0, self.buf[self.start:])
            self.buf = b''.join(self.more)
            self.pos -= self.start
            self.need -= self.start
            self.start = 0
            self.more = None
            self.more_bytes = 0
        return self.scan(out)

    cdef int scan(self, list out) except -1:
        cdef Py_ssize_t n = PyBytes_GET_SIZE(self.buf)
        cdef Py_ssize_t end, i
        cdef const char* s
        cdef RespHead h
        cdef bint blank
        while self.start < n:
            if self.scan_frame() == 0:
                if self.need - self.start > self.limits.max_message_size:
                    self.fail('Protocol error: a message of over %d bytes' % self.limits.max_message_size)
                return 0
            end = self.pos
            blank = False
            if self.kind == RESP_INLINE:
                # (Empty lines between inline commands are skipped, as redis-server does.)
                s = PyBytes_AS_STRING(self.buf)
                blank = True
                for i in range(self.start, end):
                    if s[i] not in b' \t\r\n':
                        blank = False
                        break
            if not blank:
                h = RespHead.__new__(RespHead)
                h._raw = self.buf if self.start == 0 and end == n else self.buf[self.start:end]
                h._kind = self.kind
                out.append(h)
            self.start = self.pos = end
            self.depth = 0
            self.kind = 0
            self.after_attribute = False
        self.buf = None
        self.start = self.pos = self.need = 0
        return 0

    cdef int scan_frame(self) except -2:
        # 1: the frame that begins at start ends at pos; 0: more bytes needed (need says how many).
        cdef const char* s = PyBytes_AS_STRING(self.buf)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(self.buf)
        cdef RespLimits lim = self.limits
        cdef Py_ssize_t p, nl, limit, end
        cdef const char* q
        cdef char t
        cdef int64_t count
        cdef bint top, is_attr
        while True:
            p = self.pos
            if p >= n:
                self.need = p + 1
                return 0
            t = s[p]
            top = self.depth == 0
            if top and not self.after_attribute and p == self.start and lim.inline and not resp_type_byte(t):
                limit = min(n, p + lim.max_inline_length)
                q = <const char*>memchr(s + p, b'\n', limit - p)
                if q == NULL:
                    if n - p >= lim.max_inline_length:
                        self.fail('Protocol error: too big inline request')
                    self.need = n + 1
                    return 0
                self.pos = q - s + 1
                self.kind = RESP_INLINE
                return 1
            limit = min(n, p + 1 + lim.max_inline_length)
            q = <const char*>memchr(s + p + 1, b'\n', limit - p - 1)
            if q == NULL:
                if limit < n:
                    self.fail('Protocol error: a line of over %d bytes' % lim.max_inline_length)
                self.need = n + 1
                return 0
            nl = q - s
            if s[nl - 1] != b'\r' or nl == p + 1:
                self.fail("Protocol error: a line not ended by CRLF")
            if top and t != b'|':
                self.kind = t
            is_attr = False
            if t == b'$' or t == b'!' or t == b'=':
                if resp_parse_int(s + p + 1, nl - 1 - p - 1, &count) < 0:
                    self.fail('Protocol error: invalid bulk length')
                if count == -1 and t == b'$':
                    if top:
                        self.kind = c'_'
                    self.pos = nl + 1
                elif count < 0 or count > lim.max_bulk_length:
                    self.fail('Protocol error: invalid bulk length')
                else:
                    end = nl + 1 + count + 2
                    if end > n:
                        self.need = end
                        return 0
                    if s[end - 2] != b'\r' or s[end - 1] != b'\n':
                        self.fail('Protocol error: a bulk string not ended by CRLF')
                    self.pos = end
            elif t == b'*' or t == b'%' or t == b'~' or t == b'>' or t == b'|':
                if resp_parse_int(s + p + 1, nl - 1 - p - 1, &count) < 0:
                    self.fail('Protocol error: invalid multibulk length')
                self.pos = nl + 1
                if count == -1 and t == b'*':
                    if top:
                        self.kind = c'_'
                elif count < 0 or count > lim.max_array_length:
                    self.fail('Protocol error: invalid multibulk length')
                elif count > 0:
                    if self.depth >= lim.max_depth:
                        self.fail('Protocol error: nesting deeper than %d' % lim.max_depth)
                    self.counts[self.depth] = count * 2 if (t == b'%' or t == b'|') else count
                    self.attrs[self.depth] = t == b'|'
                    self.depth += 1
                    continue
                else:
                    is_attr = t == b'|'
            elif t == b':':
                if resp_parse_int(s + p + 1, nl - 1 - p - 1, &count) < 0:
                    self.fail('Protocol error: invalid integer')
                self.pos = nl + 1
            elif t == b'+' or t == b'-' or t == b',' or t == b'(':
                self.pos = nl + 1
            elif t == b'_':
                if nl != p + 2:
                    self.fail('Protocol error: invalid null')
                self.pos = nl + 1
            elif t == b'#':
                if nl != p + 3 or (s[p + 1] != b't' and s[p + 1] != b'f'):
                    self.fail('Protocol error: invalid boolean')
                self.pos = nl + 1
            else:
                self.fail("Protocol error: unexpected type byte %r" % chr(<unsigned char>t))
            # An element is complete (or an attribute, which is a prefix and no element of what holds it).
            while True:
                if self.depth == 0:
                    if is_attr:
                        self.after_attribute = True
                        break
                    return 1
                if is_attr:
                    break
                self.counts[self.depth - 1] -= 1
                if self.counts[self.depth - 1] > 0:
                    break
                self.depth -= 1
                is_attr = self.attrs[self.depth]


cdef object resp_value_at(const char* s, Py_ssize_t n, Py_ssize_t* at, dict attributes):
    # The value of the (complete, scanned) frame bytes at at[0]; at[0] moves past it. A frame-level attribute goes
    # into attributes; one nested deeper is read and dropped.
    cdef Py_ssize_t p = at[0]
    cdef char t = s[p]
    cdef const char* q = <const char*>memchr(s + p + 1, b'\n', n - p - 1)
    cdef Py_ssize_t nl = q - s
    cdef int64_t count = 0
    cdef Py_ssize_t i
    line = s[p + 1:nl - 1]
    at[0] = nl + 1
    if t == b'+':
        return line.decode('utf-8', 'surrogateescape')
    if t == b'-':
        return RespError(line.decode('utf-8', 'surrogateescape'))
    if t == b':':
        return int(line)
    if t == b'_':
        return None
    if t == b',':
        return float(line)
    if t == b'#':
        return line == b't'
    if t == b'(':
        return RespBigNumber(int(line))
    resp_parse_int(s + p + 1, nl - 1 - p - 1, &count)
    if t == b'$' or t == b'!' or t == b'=':
        if count < 0:
            return None
        v = s[nl + 1:nl + 1 + count]
        at[0] = nl + 1 + count + 2
        if t == b'$':
            return v
        if t == b'!':
            return RespError(v.decode('utf-8', 'surrogateescape'))
        return RespVerbatim(v[4:].decode('utf-8', 'surrogateescape'), v[:3].decode('ascii', 'replace'))
    if count < 0:
        return None
    if t == b'%' or t == b'|':
        d = {}
        for i in range(count):
            k = resp_value_at(s, n, at, None)
            if isinstance(k, list):
                k = tuple(k)        # (a key must be hashable)
            d[k] = resp_value_at(s, n, at, None)
        if t == b'|':
            if attributes is not None:
                attributes.update(d)
            return resp_value_at(s, n, at, attributes)
        return d
    items = RespSet() if t == b'~' else RespPush() if t == b'>' else []
    for i in range(count):
        items.append(resp_value_at(s, n, at, None))
    return items


cdef class RespHead:
    """A RESP frame as a message head. head.command and head.args read a command; head.type and head.value read a
    reply; head.raw is the frame as it came. Setting command, args or value makes encode_resp write them instead."""

    def __init__(self, raw):
        """The head of one complete RESP frame given as bytes."""
        cdef RespParser p = RespParser(RespLimits())
        cdef RespHead h
        heads = p.feed(bytes(raw))
        if len(heads) != 1 or p.pending():
            raise ValueError('RespHead() takes the bytes of exactly one RESP frame')
        h = <RespHead>heads[0]
        self._raw = h._raw
        self._kind = h._kind

    @property
    def raw(self):
        """The frame's wire bytes, as they came."""
        return self._raw

    @property
    def type(self):
        """'simple', 'error', 'integer', 'bulk', 'array', 'null', 'map', 'set', 'double', 'boolean', 'big_number',
        'verbatim', 'push', or 'inline' (a telnet-style command)."""
        return _RESP_TYPE_NAMES.get(self._kind, 'unknown')

    @property
    def changed(self):
        """Whether a script set command, args or value."""
        return self._changed

    cdef int parse_value(self) except -1:
        cdef Py_ssize_t at = 0
        cdef dict attributes = {}
        if self._parsed:
            return 0
        if self._kind == RESP_INLINE:
            self._value = self._raw.split()
        else:
            self._value = resp_value_at(PyBytes_AS_STRING(self._raw), PyBytes_GET_SIZE(self._raw), &at, attributes)
            self._attributes = attributes or None
        self._parsed = True
        return 0

    cdef int parse_command(self) except -1:
        # A command is an array of bulk strings (or an inline line): its first is the name.
        cdef const char* s = PyBytes_AS_STRING(self._raw)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(self._raw)
        cdef const char* q
        cdef Py_ssize_t p, nl
        cdef int64_t count = 0, length = 0
        cdef list args
        cdef bint first = True
        if self._command_known:
            return 0
        self._command_known = True
        if self._kind == RESP_INLINE:
            words = self._raw.split()
            self._command = words[0].decode('latin-1').upper()
            self._args = words[1:]
            return 0
        if self._kind != c'*' or s[0] != b'*':
            return 0
        q = <const char*>memchr(s, b'\n', n)
        resp_parse_int(s + 1, q - s - 2, &count)
        p = q - s + 1
        args = []
        name = None
        while count > 0:
            if s[p] != b'$':
                return 0                        # (an array holding something else: not a command)
            q = <const char*>memchr(s + p, b'\n', n - p)
            nl = q - s
            resp_parse_int(s + p + 1, nl - 1 - p - 1, &length)
            if length < 0:
                return 0
            v = s[nl + 1:nl + 1 + length]
            if first:
                name = v.decode('latin-1').upper()
                first = False
            else:
                args.append(v)
            p = nl + 1 + length + 2
            count -= 1
        self._command = name
        self._args = args
        return 0

    @property
    def command(self):
        """The command's name in upper case ('GET'), or None when the frame is no command."""
        self.parse_command()
        return self._command

    @command.setter
    def command(self, name):
        self.parse_command()
        if self._command is None and self._args is None:
            self._args = []
        self._command = str(name).upper()
        self._changed = True

    @property
    def args(self):
        """The command's arguments (bytes), the name not included; None when the frame is no command. Setting it
        makes encode_resp write the command anew."""
        self.parse_command()
        return self._args

    @args.setter
    def args(self, values):
        self.parse_command()
        if self._command is None:
            raise ValueError('this RESP frame is no command: it has no args to set')
        self._args = list(values)
        self._changed = True

    @property
    def key(self):
        """The command's first argument (the key of most commands), or None."""
        self.parse_command()
        return self._args[0] if self._args else None

    @property
    def value(self):
        """The frame's value: str (simple string), RespError, int, bytes (bulk string), None (null), list (array),
        dict (map), RespSet, float (double), bool, RespBigNumber, RespVerbatim, RespPush; an inline command is the
        list of its words. Setting it makes encode_resp write the value anew."""
        self.parse_value()
        return self._value

    @value.setter
    def value(self, v):
        self._value = v
        self._parsed = True
        self._command_known = True
        self._command = None
        self._changed = True

    @property
    def attributes(self):
        """The RESP3 attributes that came before the value (a dict), or None."""
        self.parse_value()
        return self._attributes

    def encode(self):
        """The frame's bytes: as they came, or, once changed, encoded from command and args or from value."""
        if not self._changed:
            return self._raw
        if self._command is not None:
            return resp_encode_command(self._command, self._args or [])
        out = bytearray()
        resp_encode_value(self._value, out, 0)
        return bytes(out)

    def __repr__(self):
        self.parse_command()
        if self._command is not None:
            return 'RespHead(%s %r)' % (self._command, self._args)
        return 'RespHead(%s %r)' % (self.type, self.value)


cdef inline bytes resp_arg_bytes(object a):
    if PyBytes_Check(a):
        return <bytes>a
    if isinstance(a, str):
        return (<str>a).encode('utf-8', 'surrogateescape')
    if isinstance(a, (bytearray, memoryview)):
        return bytes(a)
    if isinstance(a, (int, float)) and not isinstance(a, bool):
        return str(a).encode()
    raise TypeError('a RESP command argument is bytes, str or a number, not %s' % type(a).__name__)


cdef bytes resp_encode_command(str name, list args):
    out = bytearray(b'*%d\r\n' % (len(args) + 1))
    for a in [name] + args:
        b = resp_arg_bytes(a)
        out += b'$%d\r\n' % len(b)
        out += b
        out += b'\r\n'
    return bytes(out)


cdef inline str resp_line(str s):
    # (A line-typed value cannot hold a line break: it would end the line early.)
    return s.replace('\r', ' ').replace('\n', ' ')


cdef int resp_encode_value(object v, bytearray out, int depth) except -1:
    if depth > RESP_MAX_DEPTH_LIMIT:
        raise ValueError('a value nested deeper than %d cannot be encoded as RESP' % RESP_MAX_DEPTH_LIMIT)
    if v is None:
        out += b'$-1\r\n'               # (the null both RESP2 and RESP3 clients read)
    elif isinstance(v, RespHead):
        out += (<RespHead>v).encode()
    elif isinstance(v, bool):
        out += b'#t\r\n' if v else b'#f\r\n'
    elif isinstance(v, RespError):
        out += b'-' + resp_line(str(v)).encode('utf-8', 'surrogateescape') + b'\r\n'
    elif isinstance(v, RespBigNumber):
        out += b'(%d\r\n' % v
    elif isinstance(v, int):
        # (An integer reply is 64 bits: a bigger one is a RESP3 big number.)
        out += (b':%d\r\n' if -0x8000000000000000 <= v <= 0x7fffffffffffffff else b'(%d\r\n') % v
    elif isinstance(v, float):
        out += b',' + repr(v).lower().encode() + b'\r\n'
    elif isinstance(v, RespVerbatim):
        b = (getattr(v, 'format', 'txt')[:3].ljust(3) + ':' + str(v)).encode('utf-8', 'surrogateescape')
        out += b'=%d\r\n' % len(b) + b + b'\r\n'
    elif isinstance(v, str):
        if '\r' in v or '\n' in v:
            b = (<str>v).encode('utf-8', 'surrogateescape')
            out += b'$%d\r\n' % len(b) + b + b'\r\n'
        else:
            out += b'+' + (<str>v).encode('utf-8', 'surrogateescape') + b'\r\n'
    elif isinstance(v, (bytes, bytearray, memoryview)):
        out += b'$%d\r\n' % len(v)
        out += v
        out += b'\r\n'
    elif isinstance(v, dict):
        out += b'%%%d\r\n' % len(v)
        for k, x in (<dict>v).items():
            resp_encode_value(list(k) if type(k) is tuple else k, out, depth + 1)
            resp_encode_value(x, out, depth + 1)
    elif isinstance(v, (list, tuple, set, frozenset)):
        out += (b'>' if isinstance(v, RespPush) else b'~' if isinstance(v, (RespSet, set, frozenset)) else b'*')
        out += b'%d\r\n' % len(v)
        for x in v:
            resp_encode_value(x, out, depth + 1)
    else:
        raise TypeError('a %s cannot be encoded as RESP' % type(v).__name__)
    return 0


def resp_encode(value):
    """The RESP bytes of a Python value (the mapping RespHead.value reads, the other way); a RespHead gives its
    frame's bytes."""
    out = bytearray()
    resp_encode_value(value, out, 0)
    return bytes(out)


def resp_command(name, *args):
    """The RespHead of a command built by a script: resp_command('SET', 'k', b'v')."""
    cdef RespHead h = RespHead.__new__(RespHead)
    h._raw = resp_encode_command(str(name).upper(), list(args))
    h._kind = c'*'
    return h
