# Declared here, defined in use.pxi.

cdef class UseFilter(Filter):
    cdef list layouts                  # LayoutRef per module
    cdef Pipeline sub

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef void shutdown(self)


cdef class ChainFilter(Filter):
    cdef EventTarget target
    cdef Pipeline sub

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef void shutdown(self)
