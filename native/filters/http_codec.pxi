# decode_http_request / decode_http_response / encode_http_request / encode_http_response: the HTTP/1.x codec as
# plain filters, between bytes (Data) and messages (MessageStart, Data, MessageEnd).

cdef class MessageEncoder(EventTarget):
    """Encodes one message after another into Data for `out`. A body up to BUFFER_BODY goes with Content-Length in
    one write; a longer one streams, with the Content-Length its decoded head declared if it has one (checked: a
    body that does not match it marks the encoder broken, and its connection must be dropped), else chunked."""

    def __init__(self, EventTarget out, bint response):
        self.out = out
        self.response = response
        self.keep_alive = True

    cdef int start(self, object head) except -1:
        self.head = as_response_head(head) if self.response else as_request_head(head)
        self.body = None
        self.body_len = 0
        self.started = False
        self.chunked = False
        self.whole = None
        self.broken = False
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
            self.body.extend(d.chunks())
            self.body_len += d.nbytes()
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
        return self.start_streaming()

    cdef int start_streaming(self) except -1:
        cdef list held = self.body
        self.body = None
        self.started = True
        wb_reset()
        if self.head.raw is not None and self.head.content_length >= 0 and not self.head.chunked:
            self.chunked = False
            self.remaining = self.head.content_length
            self.write_head(self.remaining, False)
        else:
            self.chunked = True
            self.write_head(-1, True)
        self.out.on_event(Data.wrap(wb_take()))
        return self.stream(held)

    cdef int stream(self, list chunks) except -1:
        # Big pieces go out as they are, framed around, not copied.
        cdef Data out = Data.__new__(Data)
        cdef Py_ssize_t n
        if self.broken:
            return 0
        for c in chunks:
            n = len(c)
            if self.chunked:
                out.append_chunk(('%x\r\n' % n).encode('ascii'))
                out.append_chunk(c)
                out.append_chunk(CRLF)
            elif n > self.remaining:
                self.broken = True           # more body than declared: never let it reach the peer
                break
            else:
                self.remaining -= n
                out.append_chunk(c)
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
            return self.out.on_event(Data.wrap(b))
        self.head = None
        if not self.chunked:
            if self.remaining != 0:
                self.broken = True
            return 0
        return self.out.on_event(Data.wrap(LAST_CHUNK))


cdef class HttpDecodingFilter(Filter):
    """A filter an HttpDecoder reports to (through a FilterSink): serve_http, demux_http, mux_http's sessions and
    decode_http_*. The methods are HttpSink's."""

    cdef int on_head(self, HttpHead head) except -1:
        return 0

    cdef int on_body(self, object chunk) except -1:
        return 0

    cdef int on_end(self) except -1:
        return 0

    cdef int on_error(self, int status) except -1:
        return 0

    cdef bint bodiless_response(self) except -1:
        return False


cdef class FilterSink(HttpSink):
    """Passes what a decoder decodes on to the filter that owns the decoder."""

    @staticmethod
    cdef HttpDecoder decoder_for(HttpDecodingFilter owner, bint response_mode, HttpLimits limits):
        cdef FilterSink sink = FilterSink.__new__(FilterSink)
        sink.owner = owner
        return HttpDecoder(sink, response_mode, limits)

    cdef int on_head(self, HttpHead head) except -1:
        return self.owner.on_head(head)

    cdef int on_body(self, object chunk) except -1:
        return self.owner.on_body(chunk)

    cdef int on_end(self) except -1:
        return self.owner.on_end()

    cdef int on_error(self, int status) except -1:
        return self.owner.on_error(status)

    cdef bint bodiless_response(self) except -1:
        return self.owner.bodiless_response()


cdef class DecodeHTTP(HttpDecodingFilter):
    """decode_http_request() / decode_http_response(): bytes in, HTTP messages out."""

    def __init__(self, bint response_mode, HttpLimits limits=None, bodiless=None):
        self.response_mode = response_mode
        self.limits = limits if limits is not None else DEFAULT_LIMITS
        self.bodiless = bodiless

    cdef Filter clone(self):
        cdef DecodeHTTP f = DecodeHTTP.__new__(DecodeHTTP)
        f.response_mode, f.limits, f.bodiless = self.response_mode, self.limits, self.bodiless
        f.decoder = FilterSink.decoder_for(f, f.response_mode, f.limits)
        return f

    cdef int on_event(self, Event evt) except -1:
        if self.failed:
            return 0
        if isinstance(evt, Data):
            for c in (<Data>evt).chunks():
                self.decoder.feed(c)
            return 0
        if isinstance(evt, StreamEnd):
            self.decoder.feed_eof()
            if not self.failed:
                self.failed = True
                return self.output(evt)
        return 0

    cdef bint bodiless_response(self) except -1:
        return self.bodiless is not None and bool(self.evaluate(self.bodiless))

    cdef int on_head(self, HttpHead head) except -1:
        return self.output(new_start(head))

    cdef int on_body(self, object chunk) except -1:
        return self.output(Data.wrap(chunk) if PyBytes_Check(chunk) else Data(chunk))

    cdef int on_end(self) except -1:
        return self.output(new_end())

    cdef int on_error(self, int status) except -1:
        self.failed = True
        return self.output(StreamEnd('ProtocolError'))

    def describe(self):
        return 'decode_http_response' if self.response_mode else 'decode_http_request'


cdef class EncodeHTTP(Filter):
    """encode_http_request() / encode_http_response(): HTTP messages in, bytes out."""

    def __init__(self, bint response_mode, head_request=None):
        self.response_mode = response_mode
        self.head_request = head_request

    cdef Filter clone(self):
        cdef EncodeHTTP f = EncodeHTTP.__new__(EncodeHTTP)
        f.response_mode, f.head_request = self.response_mode, self.head_request
        return f

    cdef int on_event(self, Event evt) except -1:
        if self.encoder is None:
            self.encoder = MessageEncoder(self.next, self.response_mode)
        if isinstance(evt, MessageStart):
            if self.head_request is not None:
                self.encoder.head_request = bool(self.evaluate(self.head_request))
            return self.encoder.start((<MessageStart>evt).head)
        if self.encoder.broken:
            return 0
        if isinstance(evt, Data):
            self.encoder.data(<Data>evt)
        elif isinstance(evt, MessageEnd):
            self.encoder.end()
        else:
            return self.output(evt)
        if self.encoder.broken:
            return self.output(StreamEnd('ProtocolError'))
        return 0

    def describe(self):
        return 'encode_http_response' if self.response_mode else 'encode_http_request'
