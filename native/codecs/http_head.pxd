# Declared here, defined in http_head.pxi.

cdef enum:
    MAX_SKIPS = 12


cdef struct FieldSpan:
    # One field line of a header block the parser has accepted: [name_start, name_end) and the value, trimmed.
    Py_ssize_t name_start
    Py_ssize_t name_end
    Py_ssize_t value_start
    Py_ssize_t value_end
    Py_ssize_t next                   # where the next line starts


cdef void next_field(const char* p, Py_ssize_t i, Py_ssize_t end, FieldSpan* f) noexcept


# Header fields by lower-case name.
cdef class Headers(dict):
    cdef bint modified


cdef Headers make_headers(object source)
cdef str field_name(const char* p, Py_ssize_t n)
cdef object header_value(Headers h, str lower_name)
cdef str latin1(bytes raw, Py_ssize_t a, Py_ssize_t b)


# What request and response heads share.
cdef class HttpHead:
    cdef bytes raw                      # bytes holding the head (None for a head made by a script)
    cdef Py_ssize_t hstart, hend       # the header block in _raw: from the first field to the blank line
    cdef int nskip
    cdef Py_ssize_t skips[2 * MAX_SKIPS]  # [start, end) of each hop-by-hop field line in the block
    cdef Headers headers_cache
    cdef public int version              # 10 for HTTP/1.0, 11 for HTTP/1.1
    cdef public int64_t content_length   # -1 when the head gave none
    cdef public bint chunked
    cdef public bint keep_alive          # what the sender asked for, with its version's default
    cdef public bint connection_upgrade
    cdef public bint expect_continue
    cdef object conn_names               # extra field names the Connection header listed, or None
    cdef bint has_host

    cdef void init_blank(self)
    cdef Headers parse_headers(self)
    cpdef HttpHead copy(self)
    cdef void copy_line(self, HttpHead h)
    cdef bint headers_untouched(self)
    cdef int write_headers(self) except -1


cdef int write_field(object name, object value) except -1


# An HTTP request head.
cdef class RequestHead(HttpHead):
    cdef Py_ssize_t method_start, method_end, path_start, path_end    # method and request-target in _raw
    cdef object method_cache
    cdef object path_cache
    cdef public bint line_modified

    cdef void copy_line(self, HttpHead h)
    cdef bint is_head_method(self)
    cdef int write_line(self) except -1


# An HTTP response head.
cdef class ResponseHead(HttpHead):
    cdef public int status
    cdef object reason_cache
    cdef Py_ssize_t reason_start, reason_end

    cdef void copy_line(self, HttpHead h)


cdef RequestHead as_request_head(object h)
cdef ResponseHead as_response_head(object h)
