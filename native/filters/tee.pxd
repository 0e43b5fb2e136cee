# Declared here, defined in tee.pxi.

# The file a tee writes: one per stream, or one per path for the tees with shared=True; it rotates.
cdef class TeeTarget:
    cdef str path                        # absolute, or '-' for standard output
    cdef bint append
    cdef Py_ssize_t max_file_size        # rotate before a write would take the file past it (0: never)
    cdef Py_ssize_t max_file_count       # rotated files kept (0: all)
    cdef double rotate_interval          # rotate a file older than this, in seconds (0: never)
    cdef object file
    cdef Py_ssize_t file_size
    cdef double file_time                # when the file was started (time.time())
    cdef str last_rotated                # the name the last rotation gave (names must keep increasing)

    cdef int write(self, Data d) except -1
    cdef int open(self) except -1
    cdef int rotate(self) except -1
    cdef void close(self)


# tee(path): a copy of the stream's bytes written to a file; the events pass unchanged.
cdef class TeeFilter(Filter):
    cdef object path                     # a path, or a callable returning one
    cdef bint append
    cdef Py_ssize_t max_size
    cdef bint shared
    cdef Py_ssize_t max_file_size
    cdef Py_ssize_t max_file_count
    cdef double rotate_interval
    cdef TeeTarget target
    cdef Py_ssize_t written
    cdef bint done

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef void close_file(self)
    cdef void shutdown(self)
