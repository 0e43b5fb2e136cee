# Declared here, defined in resp_codec.pxi.

# decode_resp(): the stream's bytes into one message per RESP frame (head: RespHead, body: the frame's bytes).
cdef class DecodeRESP(Filter):
    cdef RespLimits limits
    cdef RespParser parser
    cdef bint failed

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef int broken(self, str message) except -1


# encode_resp(): messages back into RESP bytes; a RespHead nobody changed goes out as the bytes it came as.
cdef class EncodeRESP(Filter):
    cdef object head
    cdef bint in_message
    cdef bint passing                   # the message's body is its wire bytes: they go on as they come
    cdef bint failed

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef int encode_message(self) except -1
