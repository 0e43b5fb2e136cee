# Declared here, defined in repeat.pxi.

# repeat(condition): records the stream and runs it through a new instance of the sub-pipeline again while
# condition(StreamEnd) holds when that sub-pipeline ends. replay() is the same with its own reason to run again.
cdef class RepeatFilter(Filter):
    cdef LayoutRef target
    cdef object condition
    cdef Py_ssize_t buffer_limit
    cdef EventBuffer recorded            # the stream's input so far; None once it grew past buffer_limit
    cdef Pipeline sub
    cdef RepeatOutput out
    cdef int runs                        # sub-pipelines started again so far
    cdef object handle                   # the timer or call_soon of the next run
    cdef bint ended

    cdef void _copy_from(self, RepeatFilter p)
    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef int start_run(self) except -1
    cdef int on_sub_output(self, Event evt) except -1
    cdef int on_sub_end(self, StreamEnd evt) except -1
    cdef int decided(self, object again, StreamEnd evt) except -1
    cdef int schedule(self, double delay) except -1
    cdef int finish(self, Event evt) except -1
    cdef void shutdown(self)


# The sub-pipeline's output, back to its filter while that run is the current one.
cdef class RepeatOutput(EventTarget):
    cdef RepeatFilter owner
    cdef bint active

    cdef int on_event(self, Event evt) except -1
