# Declared here, defined in http2_server.pxi.

from libc.stdint cimport uint32_t

# The HTTP/2 limits of serve_http and demux_http (HttpLimits.http2).
cdef class Http2Options:
    cdef public bint enabled
    cdef public int max_concurrent_streams
    cdef public int initial_window_size
    cdef public int connection_window_size
    cdef public int max_frame_size
    cdef public int max_header_list_size
    cdef public int header_table_size
    cdef public int max_continuations
    cdef public int max_resets
    cdef public double reset_interval
    cdef public int max_pending


# One stream of an HTTP/2 connection: a request to its server filter, and the encoder of its response.
cdef class Http2Stream(ResponseSlot):
    cdef Http2ServerConn conn
    cdef uint32_t id
    cdef int64_t send_window
    cdef int64_t recv_left             # what the peer may still send before we give credit
    cdef int64_t recv_unacked          # bytes delivered and not yet credited back
    cdef list pending                  # DATA payload waiting for window
    cdef Py_ssize_t pending_len
    cdef bint end_pending              # END_STREAM (or trailers) goes after what is pending
    cdef object trailers
    cdef bint finished                 # END_STREAM sent (or the stream was reset)
    cdef bint blocked                  # waiting for the connection's window
    cdef Http2StreamGate gate

    cdef int on_event(self, Event evt) except -1
    cdef int on_stream_end(self, object error) except -1
    cdef int flush_held(self) except -1
    cdef int send_head(self, bint end_stream, int64_t length) except -1
    cdef int send_data(self, object chunk) except -1
    cdef int send_pending(self) except -1
    cdef int end_response(self) except -1
    cdef int send_end(self) except -1
    cdef int deliver(self, bytes data, Py_ssize_t flow_len) except -1
    cdef int refuse(self, int status) except -1
    cdef int answer_error(self, int status) except -1
    cdef void give_credit(self)
    cdef Http2StreamGate gate_(self)


# What a stream is as an Endpoint: congested while its response waits for window, pausing (by withholding credit)
# while what it delivered is congested.
cdef class Http2StreamGate(Endpoint):
    cdef Http2Stream stream

    cdef void pause_input(self)
    cdef void resume_input(self)


# The server side of one HTTP/2 connection, under a serve_http or demux_http.
cdef class Http2ServerConn(Http2FrameSink):
    cdef HttpServerBase server
    cdef Http2Options opts
    cdef Http2FrameReader reader
    cdef HpackDecoder hdec
    cdef HpackEncoder henc
    cdef dict streams
    cdef uint32_t last_stream
    cdef uint32_t peer_max_frame
    cdef int64_t peer_initial_window
    cdef int64_t send_window
    cdef int64_t recv_unacked
    cdef list blocked                  # streams waiting for the connection's window
    cdef bint goaway_sent
    cdef bint dead
    cdef int resets
    cdef int preface_left               # after Upgrade: h2c, bytes of the client's preface still to come
    cdef double resets_since

    cdef void setup(self, HttpServerBase srv, Http2Options o)
    cdef int feed(self, bytes b) except -1
    cdef int apply_settings(self, list pairs) except -1
    cdef int start(self) except -1
    cdef int write(self, object b) except -1
    cdef int conn_error(self, uint32_t code, str reason) except -1
    cdef int stream_error(self, uint32_t stream, uint32_t code) except -1
    cdef int request(self, uint32_t sid, list fields, bint end_stream) except -1
    cdef int stream_sent(self, Http2Stream s) except -1
    cdef int close_stream(self, Http2Stream s, object error) except -1
    cdef int unblock(self) except -1
    cdef void drain(self)
    cdef int input_end(self, object error) except -1
    cdef void abort_all(self, str error)
    cdef int finish_if_idle(self) except -1
    cdef int count_reset(self) except -1


cdef bint http2_route(HttpServerBase srv, object b) except -1
cdef bint http2_upgrade(HttpServerBase srv, RequestHead h) except -1
cdef int http2_upgraded(HttpServerBase srv) except -1
