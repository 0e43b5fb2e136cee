# Declared here, defined in dummy.pxi.

# dummy(): drops every event but the stream's end.
cdef class DummyFilter(Filter):
    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
