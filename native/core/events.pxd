# Declared here, defined in events.pxi.

# Begins a message.
cdef class MessageStart(Event):
    cdef public object head


# Ends a message.
cdef class MessageEnd(Event):
    cdef public object tail
    cdef public object payload


# Ends a stream.
cdef class StreamEnd(Event):
    cdef public object error


cdef MessageStart new_start(object head)
cdef MessageEnd new_end()


# A whole message.
cdef class Message:
    cdef public object head
    cdef public Data body
    cdef public object tail

    cdef int emit(self, EventTarget out) except -1
