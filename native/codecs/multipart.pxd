# Declared here, defined in multipart.pxi.

# What a MultipartParser reports to.
cdef class MultipartSink:
    cdef int on_part_head(self, PartHead head) except -1
    cdef int on_part_body(self, bytes chunk) except -1
    cdef int on_part_end(self) except -1
    cdef int on_error(self, str reason) except -1


# Keeps what it is given as tuples, for driving a parser from Python.
cdef class MultipartLog(MultipartSink):
    cdef public list events


# The head of one part: its header fields, with what a form upload needs read out of them.
cdef class PartHead:
    cdef public Headers headers

    cdef object disposition(self, str param)


cdef enum MultipartState:
    MP_PREAMBLE = 0                      # before the first delimiter
    MP_HEADERS = 1                       # a part's header block
    MP_BODY = 2                          # a part's body
    MP_DONE = 3                          # after the close delimiter: the epilogue is dropped
    MP_FAILED = 4


# A multipart body (RFC 2046, 5.1) split into parts, bytes in, parts out, the body cut anywhere.
cdef class MultipartParser:
    cdef MultipartSink sink
    cdef bytes delimiter                 # CRLF "--" boundary
    cdef bytearray buf                   # what is not decided yet: at most a header block or a delimiter's length
    cdef public int state
    cdef public Py_ssize_t max_header_size
    cdef public str error

    cdef int feed(self, object chunk) except -1
    cdef int finish(self) except -1
    cdef int run(self) except -1
    cdef Py_ssize_t delimiter_end(self, Py_ssize_t at) noexcept
    cdef object parse_head(self, bytes block)
    cdef int fail(self, str reason) except -1


cdef object multipart_boundary(object content_type)
