# Declared here, defined in on_end.pxi.

# on_end(callback): callback runs once when the pipeline is shut down, whatever ended it; events pass unchanged.
cdef class OnEndFilter(Filter):
    cdef object fn
    cdef bint takes_arg                  # the callback takes the error of the StreamEnd that came in
    cdef bint fired
    cdef object end_error                # the error of the StreamEnd that came in (None: clean, or none came)

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef int start_early(self) except -1
    cdef void drain(self)
    cdef bint busy(self)
    cdef bint input_unread(self)
    cdef object target_address(self)
    cdef void shutdown(self)
