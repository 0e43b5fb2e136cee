# Declared here, defined in branch.pxi.

cdef class BranchFilter(Filter):
    cdef list conditions
    cdef list targets                  # LayoutRef or None
    cdef object default                # LayoutRef or None
    cdef EventTarget chosen
    cdef Pipeline sub

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef void shutdown(self)
