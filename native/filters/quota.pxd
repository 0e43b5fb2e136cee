# Declared here, defined in quota.pxi.

# The amount itself, and who waits for it. Quotas made with the same key share one.
cdef class QuotaCounter:
    cdef double initial
    cdef double current
    cdef double maximum                  # produce() never raises current above it
    cdef double per                      # seconds after a take until the amount comes back; 0: never by itself
    cdef double produce_step             # how much comes back each `per`; 0: all of it at once
    cdef object timer
    cdef list waiting                    # throttle filters waiting for some, oldest first
    cdef object __weakref__              # the table of keyed counters holds them weakly

    cdef double take(self, double amount)
    cdef Py_ssize_t take_whole(self, Py_ssize_t amount)
    cdef void give(self, double amount)
    cdef void schedule(self)
    cdef void wake(self)
    cdef void wait(self, ThrottleQuota waiter)
    cdef void forget(self, ThrottleQuota waiter)


# algo.Quota(initial, per=None, produce=None, max=None, key=None).
cdef class Quota:
    cdef QuotaCounter counter
