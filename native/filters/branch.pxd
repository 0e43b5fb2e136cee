# Declared here, defined in branch.pxi.

# branch(cond1, pipeline1, cond2, pipeline2, ..., default): on the stream's first event, picks the first pipeline
# whose condition is true (a condition is a callable or a plain value).
cdef class BranchFilter(Filter):
    cdef list conditions
    cdef list targets                  # LayoutRef or None
    cdef object default                # LayoutRef or None
    cdef EventTarget chosen
    cdef Pipeline sub

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef void shutdown(self)
