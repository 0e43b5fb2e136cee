# Declared here, defined in http_message.pxi.

# Encodes one message after another into Data for `out`.
cdef class MessageEncoder(EventTarget):
    cdef EventTarget out
    cdef bint response
    cdef HttpHead head
    cdef list body
    cdef bytearray body_tail            # the last of body while small pieces are joined into it (join_small)
    cdef int64_t body_len
    cdef bint started
    cdef bint chunked
    cdef public bint head_request       # encoding the response to a HEAD request
    cdef bint bodiless                  # this message must go without a body
    cdef public bint keep_alive
    cdef public bint keep                # keep a copy of a fully buffered request (for a retry)
    cdef public bytes whole
    cdef public int64_t hold_unsized    # a body with no declared length is held whole up to this size and sent
                                        # with a Content-Length (for servers that don't take chunked requests)
    cdef int64_t remaining              # streaming with a declared Content-Length: bytes still to go
    cdef public bint broken             # the body did not match the declared length
    cdef bint flush_soon
    cdef HttpHead pending_head          # the message the pending flush is for

    cdef int on_event(self, Event evt) except -1
    cdef int start(self, object head) except -1
    cdef int data(self, Data d) except -1
    cdef int flush_held(self) except -1
    cdef bint unsized(self)
    cdef int start_streaming(self) except -1
    cdef int stream(self, list chunks) except -1
    cdef int write_head(self, int64_t length, bint chunked) except -1
    cdef int end(self) except -1
