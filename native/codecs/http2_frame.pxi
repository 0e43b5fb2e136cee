# HTTP/2 frames (RFC 9113 section 4 and 6), sans-I/O: bytes split anywhere in, one report per frame out to an
# Http2FrameSink; a header block split over HEADERS and CONTINUATION frames is reported once, whole. The reader
# checks what the frame layer alone can know (sizes, padding, the stream a frame type may be on, CONTINUATION
# sequencing); what frames mean for streams, flow control and settings is the connection's.

from libc.stdint cimport uint32_t

cdef bytes HTTP2_PREFACE = b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'


cdef inline uint32_t _u32(const unsigned char* p) noexcept:
    return (<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16) | (<uint32_t>p[2] << 8) | p[3]


cdef class Http2FrameSink:
    """What an Http2FrameReader reports. A frame error is a connection error: the reader stops after it."""

    cdef int on_data(self, uint32_t stream, bytes data, bint end_stream, Py_ssize_t flow_len) except -1:
        return 0

    cdef int on_headers(self, uint32_t stream, bytes block, bint end_stream, uint32_t depends_on) except -1:
        return 0

    cdef int on_priority(self, uint32_t stream, uint32_t depends_on) except -1:
        return 0

    cdef int on_rst_stream(self, uint32_t stream, uint32_t code) except -1:
        return 0

    cdef int on_settings(self, bint ack, list pairs) except -1:
        return 0

    cdef int on_push_promise(self, uint32_t stream, uint32_t promised, bytes block) except -1:
        return 0

    cdef int on_ping(self, bint ack, bytes opaque) except -1:
        return 0

    cdef int on_goaway(self, uint32_t last_stream, uint32_t code, bytes debug) except -1:
        return 0

    cdef int on_window_update(self, uint32_t stream, uint32_t increment) except -1:
        return 0

    cdef int on_frame_error(self, uint32_t code, str reason) except -1:
        return 0


cdef class Http2FrameLog(Http2FrameSink):
    """Records every report as a tuple: ('data', stream, data, end_stream, flow_len), ('headers', stream, block,
    end_stream, depends_on), ('priority', stream, depends_on), ('rst_stream', stream, code), ('settings', ack,
    pairs), ('push_promise', stream, promised, block), ('ping', ack, opaque), ('goaway', last_stream, code, debug),
    ('window_update', stream, increment), ('error', code, reason)."""

    def __init__(self):
        self.events = []

    cdef int on_data(self, uint32_t stream, bytes data, bint end_stream, Py_ssize_t flow_len) except -1:
        self.events.append(('data', stream, data, end_stream, flow_len))
        return 0

    cdef int on_headers(self, uint32_t stream, bytes block, bint end_stream, uint32_t depends_on) except -1:
        self.events.append(('headers', stream, block, end_stream, depends_on))
        return 0

    cdef int on_priority(self, uint32_t stream, uint32_t depends_on) except -1:
        self.events.append(('priority', stream, depends_on))
        return 0

    cdef int on_rst_stream(self, uint32_t stream, uint32_t code) except -1:
        self.events.append(('rst_stream', stream, code))
        return 0

    cdef int on_settings(self, bint ack, list pairs) except -1:
        self.events.append(('settings', ack, pairs))
        return 0

    cdef int on_push_promise(self, uint32_t stream, uint32_t promised, bytes block) except -1:
        self.events.append(('push_promise', stream, promised, block))
        return 0

    cdef int on_ping(self, bint ack, bytes opaque) except -1:
        self.events.append(('ping', ack, opaque))
        return 0

    cdef int on_goaway(self, uint32_t last_stream, uint32_t code, bytes debug) except -1:
        self.events.append(('goaway', last_stream, code, debug))
        return 0

    cdef int on_window_update(self, uint32_t stream, uint32_t increment) except -1:
        self.events.append(('window_update', stream, increment))
        return 0

    cdef int on_frame_error(self, uint32_t code, str reason) except -1:
        self.events.append(('error', code, reason))
        return 0


cdef class Http2FrameReader:
    """Reads frames from bytes split anywhere (after the connection preface) and reports them to its sink.
    max_frame_size is our SETTINGS_MAX_FRAME_SIZE: a longer frame is a FRAME_SIZE_ERROR. A header block over
    max_header_block bytes, or split over more than max_continuations CONTINUATION frames, is refused with
    ENHANCE_YOUR_CALM (a CONTINUATION flood)."""

    def __init__(self, Http2FrameSink sink, uint32_t max_frame_size=16384, Py_ssize_t max_header_block=65536,
                 int max_continuations=64):
        self.sink = sink
        self.max_frame_size = max_frame_size
        self.max_header_block = max_header_block
        self.max_continuations = max_continuations

    cpdef int feed(self, bytes b) except -1:
        cdef Py_ssize_t used
        if self.dead:
            return 0
        if self.buf is not None:
            b = self.buf + b
            self.buf = None
        used = self.parse(<const unsigned char*>PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b))
        if used < PyBytes_GET_SIZE(b) and not self.dead:
            self.buf = b[used:]
        return 0

    cdef Py_ssize_t parse(self, const unsigned char* p, Py_ssize_t n) except -1:
        cdef Py_ssize_t i = 0
        cdef uint32_t length
        while n - i >= 9 and not self.dead:
            length = (<uint32_t>p[i] << 16) | (<uint32_t>p[i + 1] << 8) | p[i + 2]
            if length > self.max_frame_size:
                self.fail(H2E_FRAME_SIZE_ERROR, 'a frame of %d bytes, over the %d of SETTINGS_MAX_FRAME_SIZE'
                          % (length, self.max_frame_size))
                return n
            if n - i < 9 + length:
                break
            self.frame(p[i + 3], p[i + 4], _u32(p + i + 5) & 0x7FFFFFFF, p + i + 9, length)
            i += 9 + length
        return i

    cdef int fail(self, uint32_t code, str reason) except -1:
        self.dead = True
        self.buf = None
        self.cont_parts = None
        return self.sink.on_frame_error(code, reason)

    cdef int frame(self, int ftype, int flags, uint32_t stream, const unsigned char* p, Py_ssize_t n) except -1:
        cdef Py_ssize_t pad = 0, flow = n
        cdef uint32_t dep = 0
        if self.cont_stream != 0:
            if ftype != H2_CONTINUATION or stream != self.cont_stream:
                return self.fail(H2E_PROTOCOL_ERROR, 'a header block of stream %d interrupted by a frame of type %d '
                                 'on stream %d' % (self.cont_stream, ftype, stream))
            return self.block_part(p, n, flags & H2F_END_HEADERS)
        if ftype == H2_DATA or ftype == H2_HEADERS or ftype == H2_PUSH_PROMISE:
            if stream == 0:
                return self.fail(H2E_PROTOCOL_ERROR, 'a frame of type %d on stream 0' % ftype)
            if flags & H2F_PADDED:
                if n < 1:
                    return self.fail(H2E_FRAME_SIZE_ERROR, 'a padded frame without its pad length')
                pad = p[0]
                p += 1
                n -= 1
                if pad > n:
                    return self.fail(H2E_PROTOCOL_ERROR, 'padding longer than its frame')
                n -= pad
            if ftype == H2_DATA:
                return self.sink.on_data(stream, PyBytes_FromStringAndSize(<const char*>p, n), flags & H2F_END_STREAM,
                                         flow)
            if ftype == H2_HEADERS and flags & H2F_PRIORITY:
                if n < 5:
                    return self.fail(H2E_FRAME_SIZE_ERROR, 'a HEADERS frame too short for its priority')
                dep = _u32(p) & 0x7FFFFFFF
                p += 5
                n -= 5
            self.cont_type = ftype
            self.cont_promised = 0
            if ftype == H2_PUSH_PROMISE:
                if n < 4:
                    return self.fail(H2E_FRAME_SIZE_ERROR, 'a PUSH_PROMISE frame too short')
                self.cont_promised = _u32(p) & 0x7FFFFFFF
                p += 4
                n -= 4
            self.cont_stream = stream
            self.cont_end_stream = flags & H2F_END_STREAM
            self.cont_depends = dep
            self.cont_parts = []
            self.cont_size = 0
            self.cont_frames = 0
            return self.block_part(p, n, flags & H2F_END_HEADERS)
        if ftype == H2_CONTINUATION:
            return self.fail(H2E_PROTOCOL_ERROR, 'a CONTINUATION frame without a header block before it')
        if ftype == H2_PRIORITY:
            if stream == 0:
                return self.fail(H2E_PROTOCOL_ERROR, 'a PRIORITY frame on stream 0')
            if n != 5:
                return self.fail(H2E_FRAME_SIZE_ERROR, 'a PRIORITY frame of %d bytes' % n)
            return self.sink.on_priority(stream, _u32(p) & 0x7FFFFFFF)
        if ftype == H2_RST_STREAM:
            if stream == 0:
                return self.fail(H2E_PROTOCOL_ERROR, 'a RST_STREAM frame on stream 0')
            if n != 4:
                return self.fail(H2E_FRAME_SIZE_ERROR, 'a RST_STREAM frame of %d bytes' % n)
            return self.sink.on_rst_stream(stream, _u32(p))
        if ftype == H2_SETTINGS:
            if stream != 0:
                return self.fail(H2E_PROTOCOL_ERROR, 'a SETTINGS frame on stream %d' % stream)
            if flags & H2F_ACK:
                if n != 0:
                    return self.fail(H2E_FRAME_SIZE_ERROR, 'a SETTINGS acknowledgement with a payload')
                return self.sink.on_settings(True, [])
            if n % 6:
                return self.fail(H2E_FRAME_SIZE_ERROR, 'a SETTINGS frame of %d bytes' % n)
            return self.sink.on_settings(False, [((<int>p[k] << 8) | p[k + 1], _u32(p + k + 2))
                                                 for k in range(0, n, 6)])
        if ftype == H2_PING:
            if stream != 0:
                return self.fail(H2E_PROTOCOL_ERROR, 'a PING frame on stream %d' % stream)
            if n != 8:
                return self.fail(H2E_FRAME_SIZE_ERROR, 'a PING frame of %d bytes' % n)
            return self.sink.on_ping(flags & H2F_ACK, PyBytes_FromStringAndSize(<const char*>p, 8))
        if ftype == H2_GOAWAY:
            if stream != 0:
                return self.fail(H2E_PROTOCOL_ERROR, 'a GOAWAY frame on stream %d' % stream)
            if n < 8:
                return self.fail(H2E_FRAME_SIZE_ERROR, 'a GOAWAY frame of %d bytes' % n)
            return self.sink.on_goaway(_u32(p) & 0x7FFFFFFF, _u32(p + 4),
                                       PyBytes_FromStringAndSize(<const char*>p + 8, n - 8))
        if ftype == H2_WINDOW_UPDATE:
            if n != 4:
                return self.fail(H2E_FRAME_SIZE_ERROR, 'a WINDOW_UPDATE frame of %d bytes' % n)
            return self.sink.on_window_update(stream, _u32(p) & 0x7FFFFFFF)
        return 0                           # a frame type this end does not know is ignored (RFC 9113 5.5)

    cdef int block_part(self, const unsigned char* p, Py_ssize_t n, bint end_headers) except -1:
        cdef uint32_t stream
        cdef bytes block
        self.cont_size += n
        if self.cont_size > self.max_header_block:
            return self.fail(H2E_ENHANCE_YOUR_CALM, 'a header block over %d bytes' % self.max_header_block)
        if self.cont_parts:
            self.cont_frames += 1
            if self.cont_frames > self.max_continuations:
                return self.fail(H2E_ENHANCE_YOUR_CALM, 'a header block in over %d CONTINUATION frames'
                                 % self.max_continuations)
        self.cont_parts.append(PyBytes_FromStringAndSize(<const char*>p, n))
        if not end_headers:
            return 0
        stream = self.cont_stream
        self.cont_stream = 0
        parts, self.cont_parts = self.cont_parts, None
        block = <bytes>parts[0] if len(parts) == 1 else b''.join(parts)
        if self.cont_type == H2_PUSH_PROMISE:
            return self.sink.on_push_promise(stream, self.cont_promised, block)
        return self.sink.on_headers(stream, block, self.cont_end_stream, self.cont_depends)


# -- writing: each function returns one frame (or a header block's frames) as bytes ----------------------------------

cdef int h2_put_head(Py_ssize_t length, int ftype, int flags, uint32_t stream) except -1:
    cdef unsigned char h[9]
    h[0] = (length >> 16) & 0xFF
    h[1] = (length >> 8) & 0xFF
    h[2] = length & 0xFF
    h[3] = ftype
    h[4] = flags
    h[5] = (stream >> 24) & 0x7F
    h[6] = (stream >> 16) & 0xFF
    h[7] = (stream >> 8) & 0xFF
    h[8] = stream & 0xFF
    return wb_add(<const char*>h, 9)


cdef inline int _put_u32(uint32_t v) except -1:
    cdef unsigned char b[4]
    b[0] = (v >> 24) & 0xFF
    b[1] = (v >> 16) & 0xFF
    b[2] = (v >> 8) & 0xFF
    b[3] = v & 0xFF
    return wb_add(<const char*>b, 4)


cdef bytes h2_data_head(uint32_t stream, Py_ssize_t length, bint end_stream):
    # The 9 bytes before a DATA payload the caller sends as it is (no copy of the body).
    wb_reset()
    h2_put_head(length, H2_DATA, H2F_END_STREAM if end_stream else 0, stream)
    return wb_take()


cdef bytes h2_headers(uint32_t stream, bytes block, bint end_stream, uint32_t max_frame_size):
    # HEADERS, and CONTINUATION frames for what does not fit in it.
    cdef Py_ssize_t n = PyBytes_GET_SIZE(block), i = 0, k
    cdef const char* p = PyBytes_AS_STRING(block)
    cdef int flags = H2F_END_STREAM if end_stream else 0
    wb_reset()
    k = min(n, max_frame_size)
    h2_put_head(k, H2_HEADERS, flags | (H2F_END_HEADERS if k == n else 0), stream)
    wb_add(p, k)
    i = k
    while i < n:
        k = min(n - i, max_frame_size)
        h2_put_head(k, H2_CONTINUATION, H2F_END_HEADERS if i + k == n else 0, stream)
        wb_add(p + i, k)
        i += k
    return wb_take()


cdef bytes h2_settings(object pairs):
    cdef unsigned char b[2]
    pairs = list(pairs)
    wb_reset()
    h2_put_head(6 * len(pairs), H2_SETTINGS, 0, 0)
    for ident, value in pairs:
        b[0] = (ident >> 8) & 0xFF
        b[1] = ident & 0xFF
        wb_add(<const char*>b, 2)
        _put_u32(value)
    return wb_take()


cdef bytes h2_simple(int ftype, int flags, uint32_t stream, uint32_t value):
    # A frame whose payload is one 32-bit word (RST_STREAM, WINDOW_UPDATE), or none (SETTINGS ack: ftype SETTINGS).
    wb_reset()
    if ftype == H2_SETTINGS:
        h2_put_head(0, ftype, flags, stream)
    else:
        h2_put_head(4, ftype, flags, stream)
        _put_u32(value)
    return wb_take()


cdef bytes h2_ping(bytes opaque, bint ack):
    wb_reset()
    h2_put_head(8, H2_PING, H2F_ACK if ack else 0, 0)
    wb_add(PyBytes_AS_STRING(opaque), 8)
    return wb_take()


cdef bytes h2_goaway(uint32_t last_stream, uint32_t code, bytes debug):
    wb_reset()
    h2_put_head(8 + len(debug), H2_GOAWAY, 0, 0)
    _put_u32(last_stream & 0x7FFFFFFF)
    _put_u32(code)
    wb_obj(debug)
    return wb_take()


class Http2Frames:
    """The frame writers, for tests and tools: each returns a frame (or a header block's frames) as bytes."""

    @staticmethod
    def data(uint32_t stream, bytes payload, bint end_stream=False):
        return h2_data_head(stream, len(payload), end_stream) + payload

    @staticmethod
    def headers(uint32_t stream, bytes block, bint end_stream=False, uint32_t max_frame_size=16384):
        return h2_headers(stream, block, end_stream, max_frame_size)

    @staticmethod
    def priority(uint32_t stream, uint32_t depends_on, int weight=16, bint exclusive=False):
        cdef unsigned char w = (weight - 1) & 0xFF
        wb_reset()
        h2_put_head(5, H2_PRIORITY, 0, stream)
        _put_u32(depends_on | (0x80000000 if exclusive else 0))
        wb_add(<const char*>&w, 1)
        return wb_take()

    @staticmethod
    def rst_stream(uint32_t stream, uint32_t code):
        return h2_simple(H2_RST_STREAM, 0, stream, code)

    @staticmethod
    def settings(pairs=(), bint ack=False):
        return h2_simple(H2_SETTINGS, H2F_ACK, 0, 0) if ack else h2_settings(pairs)

    @staticmethod
    def push_promise(uint32_t stream, uint32_t promised, bytes block):
        wb_reset()
        h2_put_head(4 + len(block), H2_PUSH_PROMISE, H2F_END_HEADERS, stream)
        _put_u32(promised)
        wb_obj(block)
        return wb_take()

    @staticmethod
    def ping(bytes opaque, bint ack=False):
        return h2_ping(opaque, ack)

    @staticmethod
    def goaway(uint32_t last_stream, uint32_t code, bytes debug=b''):
        return h2_goaway(last_stream, code, debug)

    @staticmethod
    def window_update(uint32_t stream, uint32_t increment):
        return h2_simple(H2_WINDOW_UPDATE, 0, stream, increment)
