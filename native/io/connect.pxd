# Declared here, defined in connect.pxi.

# Timeouts (seconds; 0 means none), the most bytes held while the connection is being made, and Pipy's other
# connect options.
cdef class ConnectOptions:
    cdef public double connect_timeout
    cdef public double read_timeout      # while the peer owes an answer, the longest wait for its next byte
    cdef public double idle_timeout      # the longest time with no traffic either way
    cdef public Py_ssize_t buffer_limit
    cdef public double write_timeout     # the longest bytes may wait in the send buffer without any going out
    cdef public Py_ssize_t congestion_limit   # the send buffer's high-water mark (0: the event loop's)
    cdef public int retry_count          # connection attempts after a failed one; -1: no end
    cdef public double retry_delay
    cdef public bint keep_alive
    cdef public bint no_delay
    cdef public object bind              # the local 'ip:port' (or 'ip', or a callable returning one), or None
    cdef public object on_state          # on_state(outbound): called as the connection's state changes


cdef tuple parse_target(object target)
cdef bint is_balancer(object target)
cdef object balancing_key(Context c)

cdef enum ConnState:
    C_IDLE = 0
    C_CONNECTING = 1
    C_CONNECTED = 2
    C_CLOSED = 3


cdef class Connect(Endpoint):
    cdef object target
    cdef ConnectOptions opts
    cdef int state
    cdef list pending
    cdef bytearray pending_tail          # the last of pending, while small pieces are being joined into it
    cdef Py_ssize_t pending_size
    cdef bint end_requested
    cdef bint ended
    cdef object task
    cdef object timer
    cdef object loop
    cdef double last_read
    cdef double last_write
    cdef bint awaiting_reply             # the peer owes an answer: the read timeout runs
    cdef bint framed                     # the client above says when an answer is owed (expect_reply)
    cdef public object address
    cdef object local_address            # (ip, port) to bind to, or None
    cdef int retries
    cdef double write_stalled_since      # when bytes were first seen waiting in the send buffer, or 0
    cdef Py_ssize_t write_stalled_size
    cdef object outbound                 # the OutboundInfo on_state is given
    cdef str reported_state
    cdef object balancer                 # the algo balancer the target named, or None
    cdef object allocation               # what it handed out for the attempt now, freed when that ends
    cdef set tried                       # the balancer's targets that failed this stream since it last made one
    cdef SpliceRelay relay               # the kernel relay this connection is joined to, or None

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef int on_bytes(self, object b) except -1
    cdef void start(self)
    cdef int pick_target(self) except -1
    cdef void release_target(self)
    cdef void hold_pending(self, Data d)
    cdef void expect_reply(self, bint owed)
    cdef int start_early(self) except -1
    cdef object target_address(self)
    cdef void arm_timer(self)
    cdef bint write_stalled(self, double t_now)
    cdef void report_state(self, str state, object error)
    cdef void abort_with(self, str error)
    cdef bint relays_bytes(self)
    cdef void close(self)
    cdef void shutdown(self)
