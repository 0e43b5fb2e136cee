# Declared here, defined in debug.pxi.

# dump(tag=''): prints every event that passes, for debugging.
cdef class DumpFilter(Filter):
    cdef object tag

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1


# print(): writes the Data that passes to standard output as text.
cdef class PrintFilter(Filter):
    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
