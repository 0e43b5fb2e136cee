# Declared here, defined in serve_http.pxi.

# serve_http(handler): answers each request with handler(request Message) -> response Message (or str, bytes, None, or
# an awaitable of one).
cdef class ServeHTTP(HttpServerBase):
    cdef object handler
    cdef dict canned                   # (keep_alive, version, head) -> encoded response, for a constant handler
    cdef bytes canned_plain            # the one for a keep-alive HTTP/1.1 GET
    cdef FileAnswerer files            # for a Directory's serve: answers memory-cached files natively

    cdef Filter clone(self)
    cdef bytes canned_response(self, bint keep_alive, int version, bint head_request)
    cdef bint answer_now(self, RequestHead h) except -1
    cdef int request_start(self, ResponseSlot s) except -1
    cdef int request_body(self, ResponseSlot s, object chunk) except -1
    cdef int request_end(self, ResponseSlot s) except -1
