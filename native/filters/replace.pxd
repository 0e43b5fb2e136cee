# Declared here, defined in replace.pxi.

# replace_<kind>(callback or value): puts what the callback returns in place of the event or message.
cdef class ReplaceFilter(CallbackFilter):
    cdef Filter clone(self)
    cdef int replace(self, object arg, Event passthrough) except -1
    cdef int result(self, object r) except -1
    cdef int process(self, Event evt) except -1


cdef int emit_value(Filter f, object r) except -1
