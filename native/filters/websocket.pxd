# Declared here, defined in websocket.pxi.

# Turns what a WebSocketReader reads into decode_websocket's output.
cdef class WsFilterSink(WebSocketSink):
    cdef DecodeWebSocket owner

    cdef int on_message(self, int opcode, bint masked, bytes payload) except -1
    cdef int on_ws_error(self, int code, str why) except -1


# decode_websocket(): WebSocket frames in, one message per WebSocket message out.
cdef class DecodeWebSocket(Filter):
    cdef int64_t max_message_size
    cdef int require_mask
    cdef WebSocketReader reader
    cdef bint ended

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef void shutdown(self)


# encode_websocket(): messages in, WebSocket frames out.
cdef class EncodeWebSocket(Filter):
    cdef object masked                   # None: as each message's head says; True/False: every frame
    cdef Py_ssize_t fragment_size        # a body longer than this goes in several frames (0: one frame)
    cdef int opcode                      # of the message being encoded (-1: none)
    cdef bint mask_this
    cdef bint continuing                 # a frame of this message has gone: the next is a continuation
    cdef object close_code
    cdef object close_reason
    cdef bytearray body

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef int send(self, object payload, bint fin) except -1
