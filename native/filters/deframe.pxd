# Declared here, defined in deframe.pxi.

# What deframe()'s instances share: the states, by number.
cdef class DeframeStates:
    cdef list names                      # state number -> name; number 0 is where a stream starts
    cdef list values                     # state number -> callback, or what the state always returns
    cdef dict numbers                    # name -> state number


# deframe(states): a state machine over the bytes of a stream, driven in C.
cdef class DeframeFilter(Filter):
    cdef DeframeStates states
    cdef int state
    cdef Py_ssize_t read_left            # bytes still to read for the state that asked
    cdef int read_kind                   # READ_* below
    cdef object read_into                # the Data or list being read into
    cdef bint failed

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef int feed(self, object chunk) except -1
    cdef int step(self, object arg) except -1
    cdef int follow(self, object r) except -1
    cdef int fail(self, str reason) except -1
