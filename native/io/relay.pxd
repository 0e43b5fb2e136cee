# Declared here, defined in relay.pxi.

# One direction of a relay: bytes read from src into a pipe and from the pipe to dst, in the kernel.
cdef struct SpliceWay:
    int src                              # (descriptors duplicated from the transports', which are paused)
    int dst
    int pipe_r
    int pipe_w
    Py_ssize_t in_pipe                   # bytes read from src not yet written to dst
    bint reading                         # src is watched for readability
    bint writing                         # dst is watched for writability (the pipe has bytes dst did not take)
    bint eof                             # src has ended: once the pipe is empty, dst gets a FIN
    bint done                            # dst got its FIN


# A relayed connection: an accepted socket and connect()'s socket moving bytes to each other with splice(2).
cdef class SpliceRelay:
    cdef Inbound inbound
    cdef Connect upstream
    cdef object loop
    cdef SpliceWay up                    # client -> upstream
    cdef SpliceWay down                  # upstream -> client
    cdef bint stopped

    cdef int start(self) except -1
    cdef int pump(self, SpliceWay* w, bint upward) except -1
    cdef void watch(self, SpliceWay* w, bint upward)
    cdef void unwatch(self, SpliceWay* w)
    cdef void finish(self, str error)
    cdef void stop(self)


cdef bint try_splice_relay(Connect c) except -1
