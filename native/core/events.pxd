# Declared here, defined in events.pxi.

cdef class MessageStart(Event):
    cdef public object head


cdef class MessageEnd(Event):
    cdef public object tail
    cdef public object payload


cdef class StreamEnd(Event):
    cdef public object error


cdef MessageStart new_start(object head)
cdef MessageEnd new_end()


cdef class Message:
    cdef public object head
    cdef public Data body
    cdef public object tail

    cdef int emit(self, EventTarget out) except -1
