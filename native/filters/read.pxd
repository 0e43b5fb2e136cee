# Declared here, defined in read.pxi.

# read(path): a file's bytes as the stream's output, once any event comes in.
cdef class ReadFilter(Filter):
    cdef object path                     # a path, or a callable returning one
    cdef Py_ssize_t piece_size
    cdef object seek                     # where to start, a value or a callable
    cdef object size                     # how much to read at most, a value or a callable
    cdef int64_t left                    # bytes still to read, or -1: to the end
    cdef object file
    cdef StreamSource source
    cdef bint started
    cdef int stdin_fd                    # reading standard input ('-')
    cdef bint waiting                    # for standard input to be readable

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef void shutdown(self)
