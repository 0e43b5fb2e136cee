# Declared here, defined in event_buffer.pxi.

# Events a filter keeps for later (until it knows where they go, or to run them again), bounded by their bytes.
cdef class EventBuffer:
    cdef list events
    cdef Py_ssize_t nbytes               # bytes of the Data events kept
    cdef Py_ssize_t limit

    cdef bint push(self, Event evt) except -1
    cdef int flush(self, EventTarget out) except -1
    cdef void clear(self)


cdef EventBuffer new_event_buffer(Py_ssize_t limit)
cdef int overflow_stream(Filter f, str what) except -1
