# Declared here, defined in http_response.pxi.

cdef bytes error_response(int status, bint keep_alive)


# The encoder of one response to one request.
cdef class ResponseEncoder(EventTarget):
    cdef RequestHead req               # the request answered: its version and method shape the response
    cdef bint head_request
    cdef bint keep_alive
    cdef bint started                  # the response head has been encoded
    cdef bint done                     # the whole response has been encoded
    cdef ResponseHead resp
    cdef Data body_one                 # the body held until the head can be written: its first Data,
    cdef list body                     # and all of them once there are more
    cdef int64_t body_len
    cdef bint chunked
    cdef int64_t declared              # streaming with a Content-Length: bytes still to come
    cdef bint flush_soon               # the owner has been asked to send the held body soon
    cdef list emitted                  # driven from Python: what emit() was given

    cdef int emit(self, object b) except -1
    cdef int body_waiting(self) except -1
    cdef int response_done(self) except -1
    cdef int response_cut(self) except -1
    cdef int on_event(self, Event evt) except -1
    cdef int on_data(self, Data d) except -1
    cdef int on_file(self, FileChunk f) except -1
    cdef list held_body(self)
    cdef int start_streaming(self) except -1
    cdef int finish(self) except -1
    cdef int on_stream_end(self, object error) except -1
    cpdef bint send_held(self) except -1
    cdef int flush_held(self) except -1
