# Declared here, defined in pack.pxi.

# What pack()'s instances share: the options.
cdef class PackOptions:
    cdef Py_ssize_t batch_size
    cdef Py_ssize_t max_size
    cdef Py_ssize_t size_limit
    cdef double timeout
    cdef double interval
    cdef bytes prefix
    cdef bytes separator
    cdef bytes postfix
    cdef Py_ssize_t join_below           # pieces shorter than this are joined (from vacancy)


# pack(batch_size, ...): messages coalesced into one.
cdef class PackFilter(Filter):
    cdef PackOptions opts
    cdef object head                     # the first message's head
    cdef list chunks                     # the packed body so far
    cdef bytearray tail_chunk            # small pieces joined (see join_small)
    cdef Py_ssize_t size
    cdef Py_ssize_t whole_size           # of the body up to the last message that ended
    cdef Py_ssize_t starts
    cdef Py_ssize_t ends
    cdef double last_input
    cdef double last_flush
    cdef object timer
    cdef bint failed

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef void add(self, object chunk)
    cdef int flush(self, MessageEnd end) except -1
    cdef void arm(self)
    cdef void shutdown(self)
