# decode_websocket and encode_websocket: WebSocket frames (codecs/websocket.pxi) to messages and back. A message's
# head is a WebSocketHead (Pipy's fields: opcode, masked; close_code and close_reason for a close).


cdef class WsFilterSink(WebSocketSink):

    cdef int on_message(self, int opcode, bint masked, bytes payload) except -1:
        cdef DecodeWebSocket f = self.owner
        cdef WebSocketHead h = WebSocketHead.__new__(WebSocketHead)
        h.opcode = opcode
        h.masked = masked
        h.close_reason = ''
        if opcode == WS_CLOSE and len(payload) >= 2:
            h.close_code = (payload[0] << 8) | payload[1]
            h.close_reason = payload[2:].decode('utf-8', 'replace')
        f.output(MessageStart(h))
        if payload:
            f.output(Data.wrap(payload))
        return f.output(MessageEnd())

    cdef int on_ws_error(self, int code, str why) except -1:
        # The peer broke the protocol: the close it is owed goes on (to encode_websocket, back to it), then the
        # stream ends. Only this stream.
        cdef DecodeWebSocket f = self.owner
        cdef WebSocketHead h = WebSocketHead.__new__(WebSocketHead)
        info = f.pipeline.context.inbound if f.pipeline is not None else None
        log_warning('pipyx.websocket', 'decode_websocket%s: %s; closing with %d' % (
            ' (%s:%s)' % (info.remote_address, info.remote_port) if info is not None else '', why, code))
        h.opcode = WS_CLOSE
        h.close_code = code
        h.close_reason = why[:100]
        f.ended = True
        f.output(MessageStart(h))
        f.output(Data.wrap(ws_close_payload(code, h.close_reason)))
        f.output(MessageEnd())
        return f.output(StreamEnd('ProtocolError'))


cdef class DecodeWebSocket(Filter):
    """decode_websocket(max_message_size, masked): WebSocket frames in, one message per WebSocket message out
    (fragments joined; ping, pong and close as messages of their own). A message over max_message_size ends the
    stream after a close 1009, a protocol error (an unmasked frame when masked is True, reserved bits, ...) after a
    close 1002; the close goes down the pipeline as a message, for encode_websocket to send."""

    def __init__(self, int64_t max_message_size=1 << 20, masked=None):
        self.max_message_size = max_message_size
        self.require_mask = -1 if masked is None else (1 if masked else 0)

    cdef Filter clone(self):
        cdef DecodeWebSocket f = DecodeWebSocket.__new__(DecodeWebSocket)
        cdef WsFilterSink sink = WsFilterSink.__new__(WsFilterSink)
        f.max_message_size = self.max_message_size
        f.require_mask = self.require_mask
        sink.owner = f
        f.reader = WebSocketReader(sink, self.max_message_size, self.require_mask)
        return f

    def describe(self):
        return 'decode_websocket'

    cdef int on_event(self, Event evt) except -1:
        cdef Data d
        cdef WebSocketReader reader = self.reader     # held: a message handled downstream may end the pipeline
        if self.ended:
            return 0
        if isinstance(evt, Data):
            d = <Data>evt
            for i in range(d.chunk_count()):
                reader.feed(d.chunk_at(i))
                if self.ended:
                    break
            return 0
        if isinstance(evt, StreamEnd):
            self.ended = True
            return self.output(evt)
        return 0

    cdef void shutdown(self):
        self.ended = True
        if self.reader is not None:
            self.reader.sink = WebSocketSink.__new__(WebSocketSink)     # the filter is gone: nothing more to report


cdef class EncodeWebSocket(Filter):
    """encode_websocket(masked, fragment_size): each message becomes a WebSocket message, its head's opcode (1 text,
    2 binary, 8 close, 9 ping, 10 pong; no head: 2) and masked (or this filter's masked for every frame: a client
    masks). A close with close_code and no body gets the code and reason as its payload. A body longer than
    fragment_size goes in several frames (0: one)."""

    def __init__(self, masked=None, Py_ssize_t fragment_size=0):
        self.masked = masked
        self.fragment_size = fragment_size

    cdef Filter clone(self):
        cdef EncodeWebSocket f = EncodeWebSocket.__new__(EncodeWebSocket)
        f.masked = self.masked
        f.fragment_size = self.fragment_size
        f.opcode = -1
        return f

    def describe(self):
        return 'encode_websocket'

    cdef int on_event(self, Event evt) except -1:
        cdef Data d
        if isinstance(evt, MessageStart):
            if self.opcode >= 0:
                return 0
            head = (<MessageStart>evt).head
            if isinstance(head, WebSocketHead):
                op, masked = (<WebSocketHead>head).opcode, (<WebSocketHead>head).masked
                self.close_code, self.close_reason = (<WebSocketHead>head).close_code, (<WebSocketHead>head).close_reason
            elif isinstance(head, dict):
                op, masked = head.get('opcode', WS_BINARY), head.get('masked', False)
                self.close_code, self.close_reason = head.get('close_code'), head.get('close_reason', '')
            elif head is None:
                op, masked = WS_BINARY, False
                self.close_code = self.close_reason = None
            else:
                op, masked = getattr(head, 'opcode', WS_BINARY), getattr(head, 'masked', False)
                self.close_code = getattr(head, 'close_code', None)
                self.close_reason = getattr(head, 'close_reason', '')
            self.opcode = int(op) & 0x0f
            self.mask_this = bool(masked) if self.masked is None else bool(self.masked)
            self.continuing = False
            self.body = bytearray()
            return 0
        if isinstance(evt, Data):
            if self.opcode < 0:
                return 0
            d = <Data>evt
            for i in range(d.chunk_count()):
                self.body += d.chunk_at(i)
            if self.fragment_size > 0 and self.opcode < 8:
                while len(self.body) > self.fragment_size:
                    self.send(bytes(self.body[:self.fragment_size]), False)
                    del self.body[:self.fragment_size]
            return 0
        if isinstance(evt, MessageEnd):
            if self.opcode < 0:
                return 0
            body = bytes(self.body)
            if self.opcode == WS_CLOSE and not body and self.close_code is not None:
                body = ws_close_payload(self.close_code, self.close_reason)
            self.body = None
            self.send(body, True)
            self.opcode = -1
            return 0
        if isinstance(evt, StreamEnd):
            return self.output(evt)
        return 0

    cdef int send(self, object payload, bint fin) except -1:
        cdef int op = WS_CONTINUATION if self.continuing else self.opcode
        self.continuing = True
        return self.output(Data.wrap(ws_frame(op, fin, payload, self.mask_this)))
