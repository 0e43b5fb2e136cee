# Declared here, defined in mqtt_codec.pxi.

cdef void codec_log(str message)
cdef str where(object location)


# Feeds each Data to decoder.feed(bytes), which returns [(head, payload or None), ...].
cdef class PyDecode(Filter):
    cdef str name
    cdef object factory
    cdef object decoder
    cdef bint failed

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef int decode(self, object chunk) except -1


# Collects each message (MessageStart, Data, MessageEnd) and outputs encoder.encode(head, payload bytes) as Data.
cdef class PyEncode(Filter):
    cdef str name
    cdef object factory
    cdef object encoder
    cdef Py_ssize_t max_size
    cdef object head
    cdef Data body
    cdef bint in_message
    cdef bint failed

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
