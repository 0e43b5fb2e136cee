# Declared here, defined in link.pxi.

# link(name): sends the stream through the named (or inline) pipeline.
cdef class LinkFilter(Filter):
    cdef LayoutRef target
    cdef Pipeline sub

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef void shutdown(self)
