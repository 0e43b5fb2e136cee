# Declared here, defined in http_codec.pxi.

# A filter an HttpDecoder reports to (through a FilterSink).
cdef class HttpDecodingFilter(Filter):
    cdef int on_head(self, HttpHead head) except -1
    cdef int on_body(self, object chunk) except -1
    cdef int on_end(self) except -1
    cdef int on_error(self, int status) except -1
    cdef bint bodiless_response(self) except -1


# Passes what a decoder decodes on to the filter that owns the decoder.
cdef class FilterSink(HttpSink):
    cdef HttpDecodingFilter owner

    @staticmethod
    cdef HttpDecoder decoder_for(HttpDecodingFilter owner, bint response_mode, HttpLimits limits)
    @staticmethod
    cdef void detach(HttpDecoder decoder)


# decode_http_request() / decode_http_response(): bytes in, HTTP messages out.
cdef class DecodeHTTP(HttpDecodingFilter):
    cdef bint response_mode
    cdef HttpLimits limits
    cdef object bodiless                # decode_http_response: callable telling a response has no body (HEAD)
    cdef HttpDecoder decoder
    cdef bint failed

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef void shutdown(self)
    cdef bint bodiless_response(self) except -1
    cdef int on_head(self, HttpHead head) except -1
    cdef int on_body(self, object chunk) except -1
    cdef int on_end(self) except -1
    cdef int on_error(self, int status) except -1


# encode_http_request() / encode_http_response(): HTTP messages in, bytes out.
cdef class EncodeHTTP(Filter):
    cdef bint response_mode
    cdef object head_request            # encode_http_response: callable telling the request was HEAD
    cdef MessageEncoder encoder

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
