# Declared here, defined in produce.pxi.

# produce(callback): the stream's output made by calling back until the callback returns None.
cdef class ProduceFilter(Filter):
    cdef object producer
    cdef StreamSource source
    cdef bint started
    cdef bint ended

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef int take(self, object r) except -1
    cdef void shutdown(self)
