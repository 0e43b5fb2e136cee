# Declared here, defined in read.pxi.

# read(path): a file's bytes as the stream's output, once any event comes in.
cdef class ReadFilter(Filter):
    cdef object path                     # a path, or a callable returning one
    cdef Py_ssize_t piece_size
    cdef object file
    cdef StreamSource source
    cdef bint started

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef void shutdown(self)
