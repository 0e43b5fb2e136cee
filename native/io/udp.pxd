# Declared here, defined in udp.pxi.

# A listening UDP port: each peer address is a stream of datagram messages.
cdef class UdpListenerState:
    cdef public PipelineLayout layout
    cdef public double idle_timeout      # a peer silent both ways this long ends its stream
    cdef public Py_ssize_t max_peers     # streams at once; datagrams from further new addresses are dropped
    cdef public dict connections         # peer address -> UdpPeer
    cdef public bint draining
    cdef public object loop
    cdef object transport
    cdef object local
    cdef object sweeper
    cdef double dropped_warned_at
    cdef Py_ssize_t dropped
    cdef object empty_sender             # a socket on a dup of the port's descriptor, for empty datagrams

    cdef void arm_sweeper(self)
    cdef void send_empty(self, object address) except *


# One peer address of a UDP listener: the output of its stream, sent back to it as datagrams.
cdef class UdpPeer(EventTarget):
    cdef UdpListenerState listener
    cdef object address
    cdef Pipeline stream
    cdef double last_active
    cdef list body                       # chunks of the message being output, None between messages
    cdef bint closed

    cdef int on_event(self, Event evt) except -1
    cdef void send(self, object b)
    cdef void end_input(self)
    cdef void close(self)


# connect(target, protocol='udp'): a connected UDP socket per stream.
cdef class ConnectUDP(Filter):
    cdef object target
    cdef ConnectOptions opts
    cdef int state
    cdef object transport
    cdef object task
    cdef object timer
    cdef object loop
    cdef list pending                    # datagrams while the socket is being made
    cdef Py_ssize_t pending_size
    cdef list body
    cdef double last_active
    cdef bint ended
    cdef public object address
    cdef object allocation               # the target a balancer gave this stream, freed as it ends
    cdef bytes header                    # connect_proxy_protocol's PROXY header, put in front of the first datagram
    cdef double opened_at                # time.time() when the socket was made, for pipyx.outbound()
    cdef Py_ssize_t bytes_in             # datagram bytes received and sent, as pipyx.outbound() reports them
    cdef Py_ssize_t bytes_out

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef void datagram(self, object b)
    cdef int start_early(self) except -1
    cdef object target_address(self)
    cdef void start(self)
    cdef void arm_timer(self)
    cdef void close(self)
    cdef void shutdown(self)
