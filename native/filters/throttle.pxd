# Declared here, defined in throttle.pxi.

# The tokens of one key.
cdef class RateBucket:
    cdef double rate
    cdef double burst
    cdef double tokens
    cdef double stamp

    cdef double take(self, double t)


cdef class ThrottleShared:
    cdef double rate
    cdef double burst
    cdef object key
    cdef object match
    cdef dict buckets

    cdef RateBucket bucket(self, object k, double t)
    cdef void forget_full(self, double t)


cdef class ThrottleGate(Endpoint):
    pass


# throttle_message_rate(rate, burst=None, key=None, match=None).
cdef class ThrottleMessageRate(Filter):
    cdef ThrottleShared shared
    cdef object key_value
    cdef bint key_known
    cdef list queue
    cdef ThrottleGate gate
    cdef object timer

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef int admit(self, MessageStart evt) except -1
    cdef int release(self) except -1
    cdef void shutdown(self)
