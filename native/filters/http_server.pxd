# Declared here, defined in http_server.pxi.

# One request's place in the response order.
cdef class ResponseSlot(ResponseEncoder):
    cdef HttpServerBase server
    cdef bint need_continue
    cdef bint request_done
    cdef list out                      # encoded bytes waiting for the slots ahead of this one
    cdef Pipeline sub
    cdef Data req_body                 # serve_http: the request body being collected
    cdef ResponseSlot next_slot        # the next in its server's queue
    cdef int tunnel                    # the request asks for a tunnel (a TunnelKind) the answer has not refused
    cdef bint tunneling                # the answer opened it: raw bytes both ways from here on

    cdef int on_event(self, Event evt) except -1
    cdef int emit(self, object b) except -1
    cdef int body_waiting(self) except -1
    cdef int flush_held(self) except -1
    cdef int response_done(self) except -1
    cdef int response_cut(self) except -1
    cdef int respond(self, object r) except -1


# Decodes requests and puts the responses in order.
cdef class HttpServerBase(HttpDecodingFilter):
    cdef HttpLimits limits
    cdef HttpDecoder decoder
    cdef ResponseSlot oldest           # the slots of the requests being answered, oldest first (next_slot)
    cdef ResponseSlot newest
    cdef ResponseSlot current          # the slot of the request being received
    cdef object out_one                # the first bytes written while handling one input event
    cdef list outbuf                   # and the ones after it
    cdef int batching
    cdef bint closing                  # no further requests will be answered
    cdef bint input_ended
    cdef bint ended
    cdef bint aborting
    cdef double head_since             # when the first byte of a head still incomplete arrived, or 0
    cdef double arrival_deadline       # when the request being received must have come further, or 0
    cdef object arrival_timer
    cdef bint tunnels                  # requests for a tunnel (Upgrade, CONNECT) are passed on (demux_http)
    cdef ResponseSlot tunnel_slot      # the exchange asking for a tunnel or tunneled: the connection is its
    cdef double tunnel_idle_timeout    # a tunnel with no bytes either way this long is closed (0: never)
    cdef double tunnel_last            # when bytes last went through the tunnel
    cdef object tunnel_timer
    cdef Http2ServerConn h2            # once the connection turned out to speak HTTP/2 (http2_server.pxi)
    cdef bytes h2_sniffed              # first bytes that may still be the HTTP/2 preface
    cdef bint h2_checked               # the first bytes have decided between HTTP/1 and HTTP/2

    cdef void setup(self)
    cdef int on_event(self, Event evt) except -1
    cdef int on_bytes(self, object b) except -1
    cdef void watch_arrival(self)
    cdef bint busy(self)
    cdef bint input_unread(self)
    cdef int write(self, object b) except -1
    cdef int flush(self) except -1
    cdef void drain(self)
    cdef ResponseSlot new_slot(self, RequestHead h)
    cdef int on_head(self, HttpHead head) except -1
    cdef int on_body(self, object chunk) except -1
    cdef int on_end(self) except -1
    cdef int on_error(self, int status) except -1
    cdef int slot_done(self, ResponseSlot s) except -1
    cdef void end_sub(self, ResponseSlot s)
    cdef void abort_after(self, ResponseSlot s)
    cdef int on_input_end(self, object error) except -1
    cdef void shutdown(self)
    cdef void enqueue(self, ResponseSlot s)
    cdef ResponseSlot dequeue(self)
    cdef void unlink(self, ResponseSlot s)
    cdef void abort_queued(self)
    cdef void abort_sub(self, ResponseSlot s, str error)
    cdef bint answer_now(self, RequestHead h) except -1
    cdef int request_start(self, ResponseSlot s) except -1
    cdef int request_body(self, ResponseSlot s, object chunk) except -1
    cdef int request_end(self, ResponseSlot s) except -1
