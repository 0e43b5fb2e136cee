# Declared here, defined in tee.pxi.

# tee(path): a copy of the stream's bytes written to a file; the events pass unchanged.
cdef class TeeFilter(Filter):
    cdef object path                     # a path, or a callable returning one
    cdef bint append
    cdef Py_ssize_t max_size
    cdef object file
    cdef Py_ssize_t written
    cdef bint done

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef void close_file(self)
    cdef void shutdown(self)
