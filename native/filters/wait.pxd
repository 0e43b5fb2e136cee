# Declared here, defined in wait.pxi.

# wait(condition, timeout=None): holds the stream's events until condition() is true, then lets them all go.
cdef class WaitFilter(Filter):
    cdef object condition
    cdef object timeout
    cdef list held
    cdef bint open
    cdef bint dead
    cdef object timer
    cdef double deadline

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef int check(self) except -1
    cdef void stop(self)
    cdef void shutdown(self)
