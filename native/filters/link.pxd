# Declared here, defined in link.pxi.

# link(name): sends the stream through the named (or inline) pipeline, or the one a callable names at run time.
cdef class LinkFilter(Filter):
    cdef LayoutRef target                # None when the name is chosen at run time
    cdef object name_fn                  # callable() -> the name of a pipeline, or None to wait for the next event
    cdef object named                    # the script module's pipelines by name (a dict, complete once loaded)
    cdef Py_ssize_t buffer_limit
    cdef Pipeline sub
    cdef EventBuffer held                # events before name_fn named a pipeline

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef void shutdown(self)


cdef LayoutRef layout_named(Filter f, object name, object named, object extra)


# link_async(name): link, with the stream's events entering the pipeline from the event loop, a turn later.
cdef class LinkAsyncFilter(Filter):
    cdef LayoutRef target                # None when the name is chosen at run time
    cdef object name_fn
    cdef object named
    cdef Py_ssize_t buffer_limit
    cdef Pipeline sub
    cdef EventBuffer held                # events not yet handed to the pipeline
    cdef bint scheduled                  # a turn of the loop will hand them over
    cdef bint dead                       # failed or shut down: the rest of the input goes nowhere

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef int hand_over(self) except -1
    cdef void shutdown(self)
