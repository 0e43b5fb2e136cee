# Declared here, defined in fork.pxi.

# fork(count=1): copies the stream into count (an int, a list, or a callable giving either) sub-pipelines whose output
# is dropped.
cdef class ForkFilter(Filter):
    cdef LayoutRef target
    cdef object count
    cdef list subs
    cdef EventTarget sink
    cdef bint dead

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef void shutdown(self)


cdef Event copy_event(Event evt)
cdef object copy_head(object head)
