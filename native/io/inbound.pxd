# Declared here, defined in inbound.pxi.

cdef void socket_opened()
cdef void socket_closed() noexcept
cdef void fd_pressure()


# What a listening port needs per connection.
cdef class ListenerState:
    cdef public PipelineLayout layout
    cdef public double idle_timeout
    cdef public double linger_time       # after our answer and our FIN, the longest a client may go on sending
    cdef public double linger_timeout    # and the longest pause in it
    cdef public set connections
    cdef public bint draining
    cdef public object loop


cdef class Inbound(Endpoint):
    cdef ListenerState listener
    cdef FileSender sender               # a file span being sent; what the pipeline outputs meanwhile waits in it
    cdef PipelineLayout layout
    cdef Pipeline stream
    cdef bint input_ended
    cdef bint closed
    cdef unsigned long activity
    cdef unsigned long seen_activity
    cdef object idle_timer               # the idle check, or while lingering the linger check
    cdef bint lingering
    cdef int out_fd                      # sendfile_fd(): -1 not made yet, -2 none (TLS)
    cdef double linger_until

    cdef int on_event(self, Event evt) except -1
    cdef int on_bytes(self, object b) except -1
    cdef bint takes_file_spans(self)
    cdef int send_file(self, FileChunk f, list after, list before) except -1
    cdef int sendfile_fd(self) except -2
    cdef void close_sendfile_fd(self)
    cdef int file_sent(self) except -1
    cdef void linger(self)
    cdef double linger_period(self)
    cdef void drain(self)
    cpdef abort(self)
