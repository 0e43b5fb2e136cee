# Declared here, defined in pipe.pxi.

# pipe(target, target_map, args): the stream through a pipeline (or a chain of them) chosen when it starts.
cdef class PipeFilter(Filter):
    cdef object target                   # a LayoutRef, a list of them, or callable(first event) -> name(s)
    cdef dict target_map                 # name -> LayoutRef, looked in before the module's named pipelines
    cdef object named                    # the script module's pipelines by name
    cdef object args                     # the start argument of the pipeline: a value, or callable(first event)
    cdef Py_ssize_t buffer_limit
    cdef Pipeline sub
    cdef EventBuffer held                # events before the callable named a pipeline
    cdef bint dead

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef int begin(self, Event evt) except -1
    cdef void shutdown(self)


# pipe_next(): in a pipeline of a chain that pipe() started, goes on to the next one.
cdef class PipeNextFilter(ChainFilter):
    cdef Filter clone(self)
