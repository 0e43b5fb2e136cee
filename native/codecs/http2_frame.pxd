# Declared here, defined in http2_frame.pxi.

from libc.stdint cimport uint32_t

cdef enum:
    H2_DATA = 0
    H2_HEADERS = 1
    H2_PRIORITY = 2
    H2_RST_STREAM = 3
    H2_SETTINGS = 4
    H2_PUSH_PROMISE = 5
    H2_PING = 6
    H2_GOAWAY = 7
    H2_WINDOW_UPDATE = 8
    H2_CONTINUATION = 9

    H2F_END_STREAM = 0x1
    H2F_ACK = 0x1
    H2F_END_HEADERS = 0x4
    H2F_PADDED = 0x8
    H2F_PRIORITY = 0x20

    H2E_NO_ERROR = 0
    H2E_PROTOCOL_ERROR = 1
    H2E_INTERNAL_ERROR = 2
    H2E_FLOW_CONTROL_ERROR = 3
    H2E_SETTINGS_TIMEOUT = 4
    H2E_STREAM_CLOSED = 5
    H2E_FRAME_SIZE_ERROR = 6
    H2E_REFUSED_STREAM = 7
    H2E_CANCEL = 8
    H2E_COMPRESSION_ERROR = 9
    H2E_CONNECT_ERROR = 10
    H2E_ENHANCE_YOUR_CALM = 11
    H2E_INADEQUATE_SECURITY = 12
    H2E_HTTP_1_1_REQUIRED = 13


# What an Http2FrameReader reports, frame by frame (a header block once whole).
cdef class Http2FrameSink:
    cdef int on_data(self, uint32_t stream, bytes data, bint end_stream, Py_ssize_t flow_len) except -1
    cdef int on_headers(self, uint32_t stream, bytes block, bint end_stream, uint32_t depends_on) except -1
    cdef int on_priority(self, uint32_t stream, uint32_t depends_on) except -1
    cdef int on_rst_stream(self, uint32_t stream, uint32_t code) except -1
    cdef int on_settings(self, bint ack, list pairs) except -1
    cdef int on_push_promise(self, uint32_t stream, uint32_t promised, bytes block) except -1
    cdef int on_ping(self, bint ack, bytes opaque) except -1
    cdef int on_goaway(self, uint32_t last_stream, uint32_t code, bytes debug) except -1
    cdef int on_window_update(self, uint32_t stream, uint32_t increment) except -1
    cdef int on_frame_error(self, uint32_t code, str reason) except -1


# The sink of tests and tools: every report as a tuple in a list.
cdef class Http2FrameLog(Http2FrameSink):
    cdef public list events


# Frames from bytes split anywhere.
cdef class Http2FrameReader:
    cdef Http2FrameSink sink
    cdef bytes buf                     # an incomplete frame kept from the last feed
    cdef public uint32_t max_frame_size
    cdef public Py_ssize_t max_header_block   # a header block (HEADERS + CONTINUATIONs) longer is refused
    cdef public int max_continuations
    cdef public bint dead
    cdef uint32_t cont_stream          # the stream whose header block continues, or 0
    cdef int cont_type
    cdef uint32_t cont_promised
    cdef bint cont_end_stream
    cdef uint32_t cont_depends
    cdef list cont_parts
    cdef Py_ssize_t cont_size
    cdef int cont_frames

    cpdef int feed(self, bytes b) except -1
    cdef Py_ssize_t parse(self, const unsigned char* p, Py_ssize_t n) except -1
    cdef int frame(self, int ftype, int flags, uint32_t stream, const unsigned char* p, Py_ssize_t n) except -1
    cdef int fail(self, uint32_t code, str reason) except -1
    cdef int block_part(self, const unsigned char* p, Py_ssize_t n, bint end_headers) except -1


cdef int h2_put_head(Py_ssize_t length, int ftype, int flags, uint32_t stream) except -1
cdef bytes h2_data_head(uint32_t stream, Py_ssize_t length, bint end_stream)
cdef bytes h2_headers(uint32_t stream, bytes block, bint end_stream, uint32_t max_frame_size)
cdef bytes h2_settings(object pairs)
cdef bytes h2_simple(int ftype, int flags, uint32_t stream, uint32_t value)
cdef bytes h2_ping(bytes opaque, bint ack)
cdef bytes h2_goaway(uint32_t last_stream, uint32_t code, bytes debug)
