# Declared here, defined in decode_multipart.pxi.

# Gives a MultipartParser's parts to the filter's output as messages.
cdef class MultipartParts(MultipartSink):
    cdef DecodeMultipart owner
    cdef int depth                       # 0 for the message's own parts
    cdef MultipartParser child           # the part being read is itself multipart: its parts go out instead

    cdef int on_part_head(self, PartHead head) except -1
    cdef int on_part_body(self, bytes chunk) except -1
    cdef int on_part_end(self) except -1
    cdef int on_error(self, str reason) except -1


# decode_multipart(max_header_size=16384): a multipart/* message becomes a message per part.
cdef class DecodeMultipart(Filter):
    cdef Py_ssize_t max_header_size
    cdef MultipartParser parser          # the multipart message being split, or None
    cdef MultipartParts parts
    cdef bint failed                     # its body was bad: the stream has ended with ProtocolError

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef int fail(self, str reason) except -1
    cdef void shutdown(self)


cdef object head_content_type(object head)
