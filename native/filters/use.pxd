# Declared here, defined in use.pxi.

# use(modules, name): runs the stream through the pipeline `name` of the first module.
cdef class UseFilter(Filter):
    cdef list layouts                  # LayoutRef per module
    cdef Pipeline sub

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef void shutdown(self)


# chain(): inside a module run by use(), goes on to the next module's pipeline.
cdef class ChainFilter(Filter):
    cdef EventTarget target
    cdef Pipeline sub

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef void shutdown(self)
