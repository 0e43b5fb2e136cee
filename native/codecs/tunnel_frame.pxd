# Declared here, defined in tunnel_frame.pxi.

cdef enum FrameType:
    F_HELLO = 0
    F_OPEN = 1
    F_DATA = 2
    F_END = 3
    F_RESET = 4
    F_WINDOW = 5
    F_PING = 6
    F_PONG = 7


# Receives the frames a TunnelFrameReader reads.
cdef class TunnelFrameSink:
    cdef int on_open(self, unsigned int cid, bytes meta) except -1
    cdef int on_data(self, unsigned int cid, object chunk) except -1
    cdef int on_end(self, unsigned int cid) except -1
    cdef int on_reset(self, unsigned int cid, str reason) except -1
    cdef int on_window(self, unsigned int cid, Py_ssize_t n) except -1
    cdef int on_ping(self, bytes payload) except -1
    cdef int on_frame_error(self, str what) except -1


# A sink that keeps what it is given as tuples ('open', cid, meta), ('data', cid, bytes), ('end', cid), ('reset', cid,
# reason), ('window', cid, n), ('ping', payload), ('error', what).
cdef class TunnelFrameLog(TunnelFrameSink):
    cdef public list events


# Reads frames from the bytes of one tunnel connection, in pieces split anywhere.
cdef class TunnelFrameReader:
    cdef TunnelFrameSink sink
    cdef bint got_hello
    cdef bint failed                     # after a protocol error nothing more is read
    # the frame being read
    cdef unsigned char hdr[8]
    cdef int hlen
    cdef int ftype
    cdef unsigned int fid
    cdef Py_ssize_t fremain
    cdef bint in_payload
    cdef bytearray ctrl

    cdef int feed(self, object chunk) except -1
    cdef int begin_frame(self) except -1
    cdef int end_control(self, bytes payload) except -1
    cdef int fail(self, str what) except -1
    cdef void stop(self)


# Collects frames as bytes until they are taken.
cdef class TunnelFrameWriter:
    # frames not yet taken: small ones copied into buf, big payloads kept as chunks of their own
    cdef char* buf
    cdef Py_ssize_t length
    cdef Py_ssize_t capacity
    cdef list chunks

    cdef int reserve(self, Py_ssize_t n) except -1
    cdef int put_header(self, int ftype, Py_ssize_t length, unsigned int cid) except -1
    cdef int put_chunk(self, object chunk) except -1
    cdef int put_frame(self, int ftype, unsigned int cid, object payload) except -1
    cdef int put_window(self, unsigned int cid, Py_ssize_t n) except -1
    cdef int put_data(self, unsigned int cid, Data d) except -1
    cdef bint has_output(self)
    cdef Data take(self)
