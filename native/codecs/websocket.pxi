# WebSocket framing (RFC 6455), sans-I/O: WebSocketReader turns bytes into messages for a WebSocketSink; ws_frame()
# writes one frame. No sockets, no filters: tests drive both with bytes split anywhere.

import os as _os


cdef class WebSocketHead:
    """The head of a WebSocket message: opcode (1 text, 2 binary, 8 close, 9 ping, 10 pong), masked (whether the
    frames were or are to be masked), and for a close message close_code and close_reason."""

    def __init__(self, opcode=1, masked=False, close_code=None, close_reason=''):
        self.opcode = opcode
        self.masked = masked
        self.close_code = close_code
        self.close_reason = close_reason

    def __repr__(self):
        if self.opcode == WS_CLOSE:
            return 'WebSocketHead(opcode=8, masked=%r, close_code=%r, close_reason=%r)' % (
                self.masked, self.close_code, self.close_reason)
        return 'WebSocketHead(opcode=%d, masked=%r)' % (self.opcode, self.masked)


cdef class WebSocketSink:
    """Receives what a WebSocketReader reads: a filter's (decode_websocket) or, in tests, a WebSocketLog."""

    cdef int on_message(self, int opcode, bint masked, bytes payload) except -1:
        return 0

    cdef int on_ws_error(self, int code, str why) except -1:
        # code: the close code the peer is owed (1002 protocol error, 1009 too big).
        return 0


cdef class WebSocketLog(WebSocketSink):
    """Keeps what it is given: ('message', opcode, masked, payload) and ('error', code, why)."""

    def __init__(self):
        self.events = []

    cdef int on_message(self, int opcode, bint masked, bytes payload) except -1:
        self.events.append(('message', opcode, masked, payload))
        return 0

    cdef int on_ws_error(self, int code, str why) except -1:
        self.events.append(('error', code, why))
        return 0


cdef inline void unmask(unsigned char* p, Py_ssize_t n, const unsigned char* key) noexcept:
    cdef Py_ssize_t i
    for i in range(n):
        p[i] ^= key[i & 3]


cdef class WebSocketReader:
    """Reads the frames of one direction of a WebSocket connection. max_message_size bounds a message (its
    fragments together; 0: no limit); require_mask 1 refuses unmasked frames (a server reading its client), 0 masked
    ones (a client reading its server), -1 takes either. A violation is reported once, with the close code the peer
    is owed, and nothing more is read."""

    def __init__(self, WebSocketSink sink, int64_t max_message_size=1 << 20, int require_mask=-1):
        self.sink = sink
        self.max_message_size = max_message_size
        self.require_mask = require_mask
        self.buf = bytearray()

    def feed_bytes(self, data):
        """Reads bytes (from Python: tests, tools)."""
        self.feed(bytes(data))

    cdef int fail(self, int code, str why) except -1:
        self.failed = True
        self.buf = bytearray()
        self.pos = 0
        self.msg = None
        return self.sink.on_ws_error(code, why)

    cdef int feed(self, object chunk) except -1:
        cdef Py_ssize_t r
        if self.failed:
            return 0
        self.buf += chunk
        while not self.failed:
            r = self.read_frame()
            if r <= 0:
                break
        if self.failed:
            return 0
        # Drop what was read; what is left is part of a frame.
        if self.pos:
            del self.buf[:self.pos]
            self.pos = 0
        return 0

    cdef Py_ssize_t read_frame(self) except -2:
        # Reads one whole frame at pos if it is all here: returns 1, or 0 to wait for more.
        cdef Py_ssize_t avail = len(self.buf) - self.pos
        cdef unsigned char* p
        cdef int b0, b1, op, i
        cdef bint fin, masked
        cdef uint64_t n
        cdef Py_ssize_t hl
        cdef unsigned char key[4]
        cdef bytearray payload
        if avail < 2:
            return 0
        p = <unsigned char*>PyByteArray_AS_STRING(self.buf) + self.pos
        b0, b1 = p[0], p[1]
        fin = (b0 & 0x80) != 0
        op = b0 & 0x0f
        masked = (b1 & 0x80) != 0
        if b0 & 0x70:
            return self.fail(1002, 'reserved bits set (no extension was agreed)')
        if op != WS_CONTINUATION and op != WS_TEXT and op != WS_BINARY and op != WS_CLOSE and op != WS_PING and \
                op != WS_PONG:
            return self.fail(1002, 'unknown opcode %d' % op)
        if self.require_mask == 1 and not masked:
            return self.fail(1002, 'an unmasked frame from a client')
        if self.require_mask == 0 and masked:
            return self.fail(1002, 'a masked frame from a server')
        n = b1 & 0x7f
        hl = 2
        if n == 126:
            if avail < 4:
                return 0
            n = (<uint64_t>p[2] << 8) | p[3]
            hl = 4
        elif n == 127:
            if avail < 10:
                return 0
            n = 0
            for i in range(8):
                n = (n << 8) | p[2 + i]
            if n >> 63:
                return self.fail(1002, 'a frame length with its top bit set')
            hl = 10
        if op >= 8:
            if not fin:
                return self.fail(1002, 'a fragmented control frame')
            if n > 125:
                return self.fail(1002, 'a control frame longer than 125 bytes')
        elif op == WS_CONTINUATION:
            if self.msg_opcode == 0:
                return self.fail(1002, 'a continuation frame with no message to continue')
        elif self.msg_opcode != 0:
            return self.fail(1002, 'a new message before the fragmented one ended')
        if self.max_message_size > 0 and op < 8 and \
                n + (len(self.msg) if op == WS_CONTINUATION and self.msg is not None else 0) > <uint64_t>self.max_message_size:
            return self.fail(1009, 'a message over %d bytes' % self.max_message_size)
        if masked:
            hl += 4
        if <uint64_t>avail < hl + n:
            return 0
        if masked:
            memcpy(key, p + hl - 4, 4)
        payload = self.buf[self.pos + hl:self.pos + hl + <Py_ssize_t>n]
        self.pos += hl + <Py_ssize_t>n
        if masked and n:
            unmask(<unsigned char*>PyByteArray_AS_STRING(payload), <Py_ssize_t>n, key)
        if op >= 8:
            self.sink.on_message(op, masked, bytes(payload))
            return 1
        if op != WS_CONTINUATION:
            if fin:
                self.sink.on_message(op, masked, bytes(payload))
                return 1
            self.msg_opcode = op
            self.msg_masked = masked
            self.msg = payload
            return 1
        self.msg += payload
        if fin:
            op = self.msg_opcode
            whole = bytes(self.msg)
            self.msg_opcode = 0
            self.msg = None
            self.sink.on_message(op, self.msg_masked, whole)
        return 1


cdef bytes ws_frame(int opcode, bint fin, object payload, bint masked):
    # One frame; a masked one (as a client sends) with a fresh key.
    cdef Py_ssize_t n = len(payload)
    cdef bytearray out = bytearray()
    cdef bytes key
    cdef Py_ssize_t start
    out.append((0x80 if fin else 0) | (opcode & 0x0f))
    if n < 126:
        out.append((0x80 if masked else 0) | n)
    elif n <= 0xffff:
        out.append((0x80 if masked else 0) | 126)
        out += int(n).to_bytes(2, 'big')
    else:
        out.append((0x80 if masked else 0) | 127)
        out += int(n).to_bytes(8, 'big')
    if not masked:
        out += payload
        return bytes(out)
    key = _os.urandom(4)                # the peer must not be able to predict it (RFC 6455, 10.3)
    out += key
    start = len(out)
    out += payload
    unmask(<unsigned char*>PyByteArray_AS_STRING(out) + start, n, <const unsigned char*>PyBytes_AS_STRING(key))
    return bytes(out)


cdef bytes ws_close_payload(object code, object reason):
    if code is None:
        return b''
    r = reason.encode('utf-8') if isinstance(reason, str) else bytes(reason or b'')
    return int(code).to_bytes(2, 'big') + r[:123]


def encode_websocket_frame(opcode, payload=b'', fin=True, masked=False):
    """One WebSocket frame as bytes (tests, tools); a masked one gets a random key."""
    return ws_frame(int(opcode), bool(fin), bytes(payload), bool(masked))
