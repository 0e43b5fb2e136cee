# Writing HTTP/1.x messages to a peer, one after another, as Data for an EventTarget: the requests mux_http sends
# upstream and what encode_http_request/encode_http_response write. Framing is the encoder's own (http_encode.pxi).

cdef class MessageEncoder(EventTarget):
    """Encodes one message after another into Data for `out`. A body up to BUFFER_BODY goes with Content-Length in
    one write; a longer one streams, with the Content-Length its decoded head declared if it has one (checked: a
    body that does not match it marks the encoder broken, and its connection must be dropped), else chunked."""

    def __init__(self, EventTarget out, bint response):
        self.out = out
        self.response = response
        self.keep_alive = True

    cdef int on_event(self, Event evt) except -1:
        # The message's events, as encode_http_* gets them (and a test, through input()).
        if isinstance(evt, MessageStart):
            return self.start((<MessageStart>evt).head)
        if isinstance(evt, Data):
            return self.data(<Data>evt)
        if isinstance(evt, MessageEnd):
            return self.end()
        return 0

    cdef int start(self, object head) except -1:
        self.head = as_response_head(head) if self.response else as_request_head(head)
        self.body = None
        self.body_len = 0
        self.started = False
        self.chunked = False
        self.whole = None
        self.broken = False
        self.body_tail = None
        self.bodiless = self.response and (self.head_request or
                                           not status_has_body((<ResponseHead>self.head).status))
        return 0

    cdef int data(self, Data d) except -1:
        if self.head is None or d.nbytes() == 0:
            return 0
        if self.bodiless:
            self.body_len += d.nbytes()      # a HEAD response still tells the length
            return 0
        if not self.started:
            if self.body is None:
                self.body = []
            if len(self.body) < 64:
                self.body.extend(d.chunks())
            else:
                for i in range(d.chunk_count()):
                    self.body_tail = join_small(self.body, self.body_tail, d.chunk_at(i))
            self.body_len += d.nbytes()
            if self.hold_unsized >= self.body_len and self.unsized():
                return 0                     # held whole, to go with a Content-Length at its end
            if self.body_len > BUFFER_BODY:
                return self.start_streaming()
            if not self.flush_soon:
                # As for responses (ResponseSlot): held for this turn of the loop only.
                self.flush_soon = True
                self.pending_head = self.head
                hold(self)
            return 0
        return self.stream(d.chunks())

    cdef int flush_held(self) except -1:
        self.flush_soon = False
        if self.started or self.head is None or self.head is not self.pending_head or self.body is None:
            return 0
        if self.hold_unsized >= self.body_len and self.unsized():
            return 0
        return self.start_streaming()

    cdef bint unsized(self):
        # Whether streaming this message's body would need chunked framing: its head declares no length.
        return self.head.raw is None or self.head.content_length < 0 or self.head.chunked

    cdef int start_streaming(self) except -1:
        cdef list held = self.body
        self.body = None
        self.body_tail = None
        self.started = True
        wb_reset()
        if not self.unsized():
            self.chunked = False
            self.remaining = self.head.content_length
            self.write_head(self.remaining, False)
        else:
            self.chunked = True
            self.write_head(-1, True)
        self.out.on_bytes(wb_take())
        return self.stream(held)

    cdef int stream(self, list chunks) except -1:
        # Big pieces go out as they are, framed around, not copied.
        cdef Data out = Data.__new__(Data)
        cdef Py_ssize_t n
        cdef bytearray small = None         # small chunks framed together: a stream of tiny chunks is few buffers
        if self.broken:
            return 0
        for c in chunks:
            n = len(c)
            if self.chunked:
                if n < JOIN_BELOW:
                    if small is None:
                        small = bytearray()
                    small += b'%x\r\n' % n
                    small += c
                    small += CRLF
                    continue
                if small is not None:
                    out.append_chunk(bytes(small))
                    small = None
                out.append_chunk(('%x\r\n' % n).encode('ascii'))
                out.append_chunk(bytes(c) if type(c) is bytearray else c)
                out.append_chunk(CRLF)
            elif n > self.remaining:
                self.broken = True           # more body than declared: never let it reach the peer
                break
            else:
                self.remaining -= n
                out.append_chunk(bytes(c) if type(c) is bytearray else c)
        if small is not None:
            out.append_chunk(bytes(small))
        if out.nbytes():
            return self.out.on_event(out)
        return 0

    cdef int write_head(self, int64_t length, bint chunked) except -1:
        if self.response:
            return write_response_head(<ResponseHead>self.head, length, chunked, self.head_request, 11,
                                       self.keep_alive)
        return write_request_head(<RequestHead>self.head, length, chunked)

    cdef int end(self) except -1:
        cdef bytes b
        if self.head is None:
            return 0
        if not self.started:
            wb_reset()
            self.write_head(self.body_len, False)
            if self.body is not None and not self.bodiless:
                for c in self.body:
                    wb_obj(c)
            b = wb_take()
            if self.keep:
                self.whole = b
            self.head = None
            self.body = None
            self.body_tail = None
            return self.out.on_bytes(b)
        self.head = None
        if not self.chunked:
            if self.remaining != 0:
                self.broken = True
            return 0
        return self.out.on_bytes(LAST_CHUNK)
