# Declared here, defined in loop.pxi.

# loop(): what the sub-pipeline outputs goes out, and back into the sub-pipeline's input.
cdef class LoopFilter(Filter):
    cdef LayoutRef target
    cdef Py_ssize_t buffer_limit
    cdef Pipeline sub
    cdef bint inputting                  # an event is being pushed into the sub-pipeline
    cdef EventBuffer pending             # output made meanwhile: goes out and back in on the next turn of the loop
    cdef object flush_handle
    cdef bint dead

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef int feed(self, Event evt) except -1
    cdef int on_sub_output(self, Event evt) except -1
    cdef void shutdown(self)


cdef class LoopOutput(EventTarget):
    cdef LoopFilter owner

    cdef int on_event(self, Event evt) except -1
