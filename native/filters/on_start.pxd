# Declared here, defined in on_start.pxi.

# on_start(callback or events): when the pipeline starts, before its first event, the events given (or returned by
# callback(start argument)) go through it first.
cdef class OnStartFilter(CallbackFilter):
    cdef bint takes_arg                  # the callback takes the pipeline's start argument

    cdef Filter clone(self)
    cdef object invoke(self, object arg)
    cdef int begin(self) except -1
    cdef int start_early(self) except -1
    cdef int process(self, Event evt) except -1
    cdef int result(self, object r) except -1
