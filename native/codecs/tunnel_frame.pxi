# The tunnel's framing (docs/tunnel.md), sans-I/O: TunnelFrameWriter turns frames into bytes, TunnelFrameReader turns
# bytes back into frames for a TunnelFrameSink. A frame is an 8-byte header — type (1 byte), payload length (3 bytes,
# big-endian), channel id (4 bytes, big-endian) — followed by the payload. Each side first sends HELLO with the
# protocol's name; the connecting side opens channels (OPEN, with the client's addresses), either side sends DATA,
# ends its direction (END) or aborts the channel (RESET with the reason) and gives credit back (WINDOW); PING/PONG on
# channel 0 find a tunnel whose peer went away silently. What the frames mean to channels is filters/tunnel.pxi's.

from libc.stdlib cimport malloc, free

cdef bytes TUNNEL_MAGIC = b'pipyx-tunnel/1'
cdef Py_ssize_t MAX_FRAME_PAYLOAD = 0xFFFFFF
cdef Py_ssize_t MAX_CONTROL_PAYLOAD = 1024
cdef Py_ssize_t INITIAL_WINDOW = 65536      # every channel starts with this much credit each way
cdef Py_ssize_t COPY_LIMIT = 2048           # payload chunks up to this size are copied into the frame buffer


cdef class TunnelFrameSink:
    """Receives the frames a TunnelFrameReader reads: a tunnel's peer, or in tests a TunnelFrameLog. HELLO and PONG
    are the reader's own business; every other frame comes here, checked for form but not for meaning."""

    cdef int on_open(self, unsigned int cid, bytes meta) except -1:
        return 0

    cdef int on_data(self, unsigned int cid, object chunk) except -1:
        # A piece of a DATA frame's payload, as it arrived: one frame may come in several pieces.
        return 0

    cdef int on_end(self, unsigned int cid) except -1:
        return 0

    cdef int on_reset(self, unsigned int cid, str reason) except -1:
        return 0

    cdef int on_window(self, unsigned int cid, Py_ssize_t n) except -1:
        return 0

    cdef int on_ping(self, bytes payload) except -1:
        return 0

    cdef int on_frame_error(self, str what) except -1:
        # The bytes are not a well-formed pipyx tunnel; the reader reads nothing more.
        return 0


cdef class TunnelFrameLog(TunnelFrameSink):
    """A sink that keeps what it is given as tuples ('open', cid, meta), ('data', cid, bytes), ('end', cid),
    ('reset', cid, reason), ('window', cid, n), ('ping', payload), ('error', what). Data that follows data on the same
    channel is joined to it: where one DATA frame ends and the next begins means nothing to a channel."""

    def __init__(self):
        self.events = []

    cdef int on_open(self, unsigned int cid, bytes meta) except -1:
        self.events.append(('open', cid, meta))
        return 0

    cdef int on_data(self, unsigned int cid, object chunk) except -1:
        last = self.events[-1] if self.events else None
        if last is not None and last[0] == 'data' and last[1] == cid:
            self.events[-1] = ('data', cid, last[2] + bytes(chunk))
        else:
            self.events.append(('data', cid, bytes(chunk)))
        return 0

    cdef int on_end(self, unsigned int cid) except -1:
        self.events.append(('end', cid))
        return 0

    cdef int on_reset(self, unsigned int cid, str reason) except -1:
        self.events.append(('reset', cid, reason))
        return 0

    cdef int on_window(self, unsigned int cid, Py_ssize_t n) except -1:
        self.events.append(('window', cid, n))
        return 0

    cdef int on_ping(self, bytes payload) except -1:
        self.events.append(('ping', payload))
        return 0

    cdef int on_frame_error(self, str what) except -1:
        self.events.append(('error', what))
        return 0


cdef class TunnelFrameReader:
    """Reads frames from the bytes of one tunnel connection, in pieces split anywhere."""

    def __init__(self, TunnelFrameSink sink):
        self.sink = sink

    def feed_bytes(self, data):
        """Reads bytes (from Python: tests, tools)."""
        self.feed(bytes(data))

    cdef int feed(self, object chunk) except -1:
        cdef const unsigned char* p
        cdef const unsigned char* h
        cdef Py_ssize_t n, pos = 0, take
        if not PyBytes_Check(chunk):
            chunk = bytes(chunk)
        p = <const unsigned char*>PyBytes_AS_STRING(chunk)
        n = PyBytes_GET_SIZE(chunk)
        while pos < n and not self.failed:
            if not self.in_payload:
                if self.hlen == 0 and n - pos >= 8:
                    h = p + pos
                    pos += 8
                else:
                    take = min(8 - self.hlen, n - pos)
                    memcpy(&self.hdr[self.hlen], p + pos, take)
                    self.hlen += take
                    pos += take
                    if self.hlen < 8:
                        break
                    self.hlen = 0
                    h = &self.hdr[0]
                self.ftype = h[0]
                self.fremain = (<Py_ssize_t>h[1] << 16) | (<Py_ssize_t>h[2] << 8) | h[3]
                self.fid = (<unsigned int>h[4] << 24) | (<unsigned int>h[5] << 16) | (<unsigned int>h[6] << 8) | h[7]
                self.begin_frame()
            else:
                take = min(self.fremain, n - pos)
                self.fremain -= take
                if self.fremain == 0:
                    self.in_payload = False
                if self.ftype == F_DATA:
                    self.sink.on_data(self.fid, chunk if take == n else PyBytes_FromStringAndSize(<char*>p + pos, take))
                    pos += take
                else:
                    self.ctrl += chunk[pos:pos + take]
                    pos += take
                    if not self.in_payload:
                        payload, self.ctrl = bytes(self.ctrl), None
                        self.end_control(payload)
        return 0

    cdef int begin_frame(self) except -1:
        if self.ftype > F_PONG:
            return self.fail('unknown frame type %d' % self.ftype)
        if not self.got_hello and self.ftype != F_HELLO:
            return self.fail('the peer is not a pipyx tunnel (no HELLO)')
        if self.ftype == F_DATA:
            if self.fid == 0:
                return self.fail('DATA on channel 0')
            self.in_payload = self.fremain > 0
            return 0
        if self.fremain > MAX_CONTROL_PAYLOAD:
            return self.fail('control frame of %d bytes' % self.fremain)
        if self.fremain == 0:
            return self.end_control(b'')
        self.in_payload = True
        self.ctrl = bytearray()
        return 0

    cdef int end_control(self, bytes payload) except -1:
        # A whole control frame: checked for form, then handed on.
        cdef const unsigned char* b
        cdef int t = self.ftype
        cdef unsigned int cid = self.fid
        if t == F_HELLO:
            if payload != TUNNEL_MAGIC:
                return self.fail('unsupported tunnel version %r' % payload[:40])
            self.got_hello = True
        elif t == F_OPEN:
            return self.sink.on_open(cid, payload)
        elif t == F_END:
            return self.sink.on_end(cid)
        elif t == F_RESET:
            return self.sink.on_reset(cid, payload.decode('ascii', 'replace'))
        elif t == F_WINDOW:
            if len(payload) != 4:
                return self.fail('WINDOW frame of %d bytes' % len(payload))
            b = <const unsigned char*>PyBytes_AS_STRING(payload)
            return self.sink.on_window(cid, (<Py_ssize_t>b[0] << 24) | (<Py_ssize_t>b[1] << 16) |
                                       (<Py_ssize_t>b[2] << 8) | b[3])
        elif t == F_PING:
            return self.sink.on_ping(payload)
        return 0                           # PONG: hearing it is all it is for

    cdef int fail(self, str what) except -1:
        self.stop()
        return self.sink.on_frame_error(what)

    cdef void stop(self):
        # Nothing more is read, not even the rest of the bytes being read now.
        self.failed = True
        self.in_payload = False
        self.ctrl = None


cdef class TunnelFrameWriter:
    """Collects frames as bytes until they are taken: small frames are copied into one buffer, big payloads are
    kept as the chunks they came in."""

    def __dealloc__(self):
        if self.buf != NULL:
            free(self.buf)
            self.buf = NULL

    # From Python (tests, tools): one method per frame type, and the bytes written so far.
    def hello(self):
        self.put_frame(F_HELLO, 0, TUNNEL_MAGIC)

    def open(self, cid, meta=b''):
        self.put_frame(F_OPEN, cid, bytes(meta))

    def data(self, cid, payload):
        self.put_data(cid, payload if isinstance(payload, Data) else Data(payload))

    def end(self, cid):
        self.put_frame(F_END, cid, None)

    def reset(self, cid, reason):
        self.put_frame(F_RESET, cid, reason.encode('ascii'))

    def window(self, cid, n):
        self.put_window(cid, n)

    def ping(self, payload=b'pipyx'):
        self.put_frame(F_PING, 0, bytes(payload))

    def take_bytes(self):
        d = self.take()
        return d.to_bytes() if d is not None else b''

    cdef int reserve(self, Py_ssize_t n) except -1:
        cdef Py_ssize_t cap
        cdef char* p
        if self.length + n <= self.capacity:
            return 0
        cap = self.capacity * 2 if self.capacity else 4096
        while cap < self.length + n:
            cap *= 2
        p = <char*>malloc(cap)
        if p == NULL:
            raise MemoryError()
        if self.buf != NULL:
            memcpy(p, self.buf, self.length)
            free(self.buf)
        self.buf = p
        self.capacity = cap
        return 0

    cdef int put_header(self, int ftype, Py_ssize_t length, unsigned int cid) except -1:
        cdef unsigned char* h
        self.reserve(8)
        h = <unsigned char*>(self.buf + self.length)
        h[0] = <unsigned char>ftype
        h[1] = <unsigned char>(length >> 16); h[2] = <unsigned char>(length >> 8); h[3] = <unsigned char>length
        h[4] = <unsigned char>(cid >> 24); h[5] = <unsigned char>(cid >> 16)
        h[6] = <unsigned char>(cid >> 8); h[7] = <unsigned char>cid
        self.length += 8
        return 0

    cdef int put_chunk(self, object chunk) except -1:
        cdef Py_ssize_t n
        if not PyBytes_Check(chunk):
            chunk = bytes(chunk)
        n = PyBytes_GET_SIZE(chunk)
        if n <= COPY_LIMIT:
            self.reserve(n)
            memcpy(self.buf + self.length, PyBytes_AS_STRING(chunk), n)
            self.length += n
        else:
            if self.chunks is None:
                self.chunks = []
            if self.length:
                self.chunks.append(PyBytes_FromStringAndSize(self.buf, self.length))
                self.length = 0
            self.chunks.append(chunk)
        return 0

    cdef int put_frame(self, int ftype, unsigned int cid, object payload) except -1:
        # A control frame; its payload (bytes or None) is at most MAX_CONTROL_PAYLOAD bytes.
        self.put_header(ftype, len(payload) if payload is not None else 0, cid)
        if payload is not None:
            self.put_chunk(payload)
        return 0

    cdef int put_window(self, unsigned int cid, Py_ssize_t n) except -1:
        cdef char b[4]
        b[0] = <char>(n >> 24); b[1] = <char>(n >> 16); b[2] = <char>(n >> 8); b[3] = <char>n
        return self.put_frame(F_WINDOW, cid, PyBytes_FromStringAndSize(b, 4))

    cdef int put_data(self, unsigned int cid, Data d) except -1:
        # As many DATA frames as the payload needs.
        while d.nbytes() > MAX_FRAME_PAYLOAD:
            self.put_data(cid, <Data>d.slice(0, MAX_FRAME_PAYLOAD))
            d = <Data>d.slice(MAX_FRAME_PAYLOAD)
        self.put_header(F_DATA, d.nbytes(), cid)
        for i in range(d.chunk_count()):
            self.put_chunk(d.chunk_at(i))
        return 0

    cdef bint has_output(self):
        return self.length > 0 or self.chunks is not None

    cdef Data take(self):
        # Everything written since the last take, as one Data; None when nothing was.
        cdef Data d
        if not self.has_output():
            return None
        if self.chunks is not None:
            if self.length:
                self.chunks.append(PyBytes_FromStringAndSize(self.buf, self.length))
            d = Data.of_chunks(self.chunks)
            self.chunks = None
        else:
            d = Data.wrap(PyBytes_FromStringAndSize(self.buf, self.length))
        self.length = 0
        if self.capacity > 262144:              # a burst made the buffer big: give the memory back
            free(self.buf)
            self.buf = NULL
            self.capacity = 0
        return d
