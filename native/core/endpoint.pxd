# Declared here, defined in endpoint.pxi.

# A socket's side of a pipeline.
cdef class Endpoint(Filter):
    cdef object transport
    cdef object write                     # transport.write, looked up once
    cdef bint write_paused
    cdef bint read_paused
    cdef list waiters                     # endpoints that paused reading because this one is congested

    cdef void note_congestion(self)
    cdef void read_begins(self)
    cdef void read_ends(self)
    cdef void after_dispatch(self)
    cdef void drained(self)
    cdef void pause_input(self)
    cdef void resume_input(self)


cdef Endpoint congested_endpoint() noexcept
cdef Endpoint swap_congested(Endpoint e)
