# Declared here, defined in split.pxi.

# A separator and its Knuth-Morris-Pratt table: where to resume matching after a mismatch.
cdef class SplitSeparator:
    cdef bytes pattern
    cdef int* lps                        # len(pattern) + 1 entries, lps[0] = -1

    @staticmethod
    cdef SplitSeparator of(object value)


# split(separator): each message's body cut into messages at every separator.
cdef class SplitFilter(Filter):
    cdef object separator                # what the script gave: bytes/str/Data, or a callable returning one
    cdef SplitSeparator sep              # the prototype's when constant; per message when callable
    cdef bint splitting                  # a Data has come in this input message
    cdef bint started                    # a MessageStart has gone out, its MessageEnd not yet
    cdef int held                        # bytes of a separator's beginning seen and not yet output
    cdef bint failed

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef int feed(self, object chunk) except -1
    cdef int emit(self, bytes chunk, Py_ssize_t held, Py_ssize_t a, Py_ssize_t b) except -1
    cdef int finish(self) except -1
