# Declared here, defined in websocket.pxi.

cdef enum WsOpcode:
    WS_CONTINUATION = 0
    WS_TEXT = 1
    WS_BINARY = 2
    WS_CLOSE = 8
    WS_PING = 9
    WS_PONG = 10


# The head of a WebSocket message (Pipy's fields: opcode, masked; for a close: its code and reason).
cdef class WebSocketHead:
    cdef public int opcode
    cdef public bint masked
    cdef public object close_code        # a close message's status code, or None
    cdef public str close_reason


# Receives the messages a WebSocketReader reads.
cdef class WebSocketSink:
    cdef int on_message(self, int opcode, bint masked, bytes payload) except -1
    cdef int on_ws_error(self, int code, str why) except -1


# A sink that keeps what it is given: ('message', opcode, masked, payload) and ('error', code, why).
cdef class WebSocketLog(WebSocketSink):
    cdef public list events


# Reads frames from the bytes of one direction of a WebSocket connection, in pieces split anywhere, and reports
# whole messages (fragments joined; control frames on their own, also between fragments).
cdef class WebSocketReader:
    cdef WebSocketSink sink
    cdef int64_t max_message_size
    cdef int require_mask                # 1: frames must be masked (a server reading a client), 0: must not, -1: any
    cdef bytearray buf                   # bytes not yet read as frames
    cdef Py_ssize_t pos
    cdef int msg_opcode                  # the fragmented message being joined (0: none)
    cdef bint msg_masked
    cdef bytearray msg
    cdef bint failed

    cdef int feed(self, object chunk) except -1
    cdef Py_ssize_t read_frame(self) except -2
    cdef int fail(self, int code, str why) except -1


cdef bytes ws_frame(int opcode, bint fin, object payload, bint masked)
cdef bytes ws_close_payload(object code, object reason)
