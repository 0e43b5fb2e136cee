# Declared here, defined in debug.pxi.

cdef class DumpFilter(Filter):
    cdef object tag

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1


cdef class PrintFilter(Filter):
    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
