# decode_http_request / decode_http_response / encode_http_request / encode_http_response: the HTTP/1.x codec as
# plain filters, between bytes (Data) and messages (MessageStart, Data, MessageEnd).

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


cdef HttpSink NO_SINK = HttpSink()


cdef class FilterSink(HttpSink):
    """Passes what a decoder decodes on to the filter that owns the decoder."""

    @staticmethod
    cdef HttpDecoder decoder_for(HttpDecodingFilter owner, bint response_mode, HttpLimits limits):
        cdef FilterSink sink = FilterSink.__new__(FilterSink)
        sink.owner = owner
        return HttpDecoder(sink, response_mode, limits)

    @staticmethod
    cdef void detach(HttpDecoder decoder):
        # The owner holds its decoder and the decoder's sink holds the owner: a cycle that only the garbage collector
        # would free, long after the connection is gone. The owner is done with the decoder: it decodes nothing more
        # and reports to no one.
        if decoder is not None:
            decoder.stop()
            decoder.sink = NO_SINK

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

    cdef void shutdown(self):
        FilterSink.detach(self.decoder)

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
