# Declared here, defined in swap.pxi.

# A meeting point of streams: what one party sends, every other party receives.
cdef class Hub:
    cdef public object name
    cdef list parties                    # EventTarget per party: where what the others send goes
    cdef list changes                    # (joining, party) made while broadcasting, applied after it
    cdef bint broadcasting

    cdef void join(self, EventTarget party)
    cdef void leave(self, EventTarget party)
    cdef int broadcast(self, Event evt, EventTarget sender) except -1


# swap(hub): the stream's events go to the other parties of the hub; what they send is this filter's output.
cdef class SwapFilter(Filter):
    cdef object hub_value                # a Hub, a hub's name, or a callable giving either (None: not yet)
    cdef dict hubs                       # the program's hubs by name
    cdef Py_ssize_t buffer_limit
    cdef Hub hub
    cdef EventTarget party               # this filter's output, as the hub knows it
    cdef EventBuffer held
    cdef bint sending
    cdef bint dead

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef int send(self, Event evt) except -1
    cdef void shutdown(self)
