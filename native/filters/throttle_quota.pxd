# Declared here, defined in throttle_quota.pxi.

# What throttle_concurrency, throttle_data_rate and throttle_message_rate(quota) share: an algo.Quota per stream,
# the events held while it waits, and the gate that stops the reader meanwhile.
cdef class ThrottleQuota(Filter):
    cdef object quota_source             # a Quota, or a callable returning one, evaluated at the stream's first event
    cdef bint block_input
    cdef Quota quota                     # this stream's
    cdef bint failed
    cdef list queue                      # events held while waiting for the quota, the one that found too little first
    cdef ThrottleGate gate

    cdef ThrottleQuota copy_into(self, ThrottleQuota f)
    cdef int on_event(self, Event evt) except -1
    cdef object pass_event(self, Event evt)
    cdef void hold(self, Event evt)
    cdef bint on_quota(self)
    cdef void shutdown(self)


# throttle_concurrency(quota): a stream takes 1 at its first event and gives it back when it ends.
cdef class ThrottleConcurrency(ThrottleQuota):
    cdef bint active

    cdef Filter clone(self)
    cdef object pass_event(self, Event evt)
    cdef void shutdown(self)


# throttle_data_rate(quota): a Data takes its size in bytes.
cdef class ThrottleDataRate(ThrottleQuota):
    cdef Filter clone(self)
    cdef object pass_event(self, Event evt)


# throttle_message_rate(quota): a message takes 1 at its start.
cdef class ThrottleMessageQuota(ThrottleQuota):
    cdef Filter clone(self)
    cdef object pass_event(self, Event evt)
