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
    cdef public double read_timeout      # the longest wait for a byte from the client
    cdef public double write_timeout     # the longest bytes may wait to be sent without any going out
    cdef public Py_ssize_t congestion_limit   # the send buffer's high-water mark (0: the event loop's)
    cdef public Py_ssize_t buffer_limit  # bytes waiting to be sent above which the connection is dropped (0: none)
    cdef public bint transparent         # find the original destination (SO_ORIGINAL_DST) for ctx.inbound
    cdef public bint splice              # relay in the kernel when nothing looks at the bytes (io/relay)
    cdef public object on_close          # called as a connection goes: max_connections resumes accepting
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
    cdef unsigned long reads
    cdef unsigned long seen_reads
    cdef double last_read_at             # when the deadline check last saw reads go up
    cdef double write_stalled_since
    cdef Py_ssize_t write_stalled_size
    cdef object deadline_timer           # read_timeout and write_timeout
    cdef SpliceRelay relay               # the kernel relay this connection is joined to, or None

    cdef int on_event(self, Event evt) except -1
    cdef int on_bytes(self, object b) except -1
    cdef void sent_into_congestion(self)
    cdef bint takes_file_spans(self)
    cdef int send_file(self, FileChunk f, list after, list before) except -1
    cdef int sendfile_fd(self) except -2
    cdef void close_sendfile_fd(self)
    cdef int file_sent(self) except -1
    cdef void linger(self)
    cdef double linger_period(self)
    cdef void drain(self)
    cdef void arm_deadlines(self)
    cdef void end_with(self, str error)
    cpdef abort(self)
