# Declared here, defined in endpoint.pxi.

# A socket's side of a pipeline.
cdef class Endpoint(Filter):
    cdef object transport
    cdef object write                     # transport.write, looked up once
    cdef bint write_paused
    cdef bint read_paused
    cdef list waiters                     # endpoints that paused reading because this one is congested
    cdef int fd                           # the plain TCP socket send_bytes() writes to directly, or -1
    cdef bint transport_holds             # the transport may hold bytes: they go first, through it
    cdef double opened_at                 # time.time() when the socket connected, for listing connections

    cdef void note_congestion(self)
    cdef void read_begins(self)
    cdef void read_ends(self)
    cdef void after_dispatch(self)
    cdef void drained(self)
    cdef void use_socket(self, object transport)
    cdef int send_bytes(self, object b) except -1
    cdef int send_chunks(self, list chunks) except -1
    cdef void pause_input(self)
    cdef void resume_input(self)


cdef Endpoint congested_endpoint() noexcept
cdef Endpoint swap_congested(Endpoint e)
