# Declared here, defined in insert.pxi.

# insert(events or callable): before the stream's first event, the events given (or returned) go out.
cdef class InsertFilter(CallbackFilter):
    cdef Filter clone(self)
    cdef object invoke(self, object arg)
    cdef int process(self, Event evt) except -1
    cdef int result(self, object r) except -1
