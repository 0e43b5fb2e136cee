# Declared here, defined in http_encode.pxi.

cdef bint bodiless_method(RequestHead h)
cdef int write_request_head(RequestHead h, int64_t body_len, bint chunked) except -1
cdef bint status_has_body(int status)
cdef int write_response_head(ResponseHead h, int64_t body_len, bint chunked, bint head_request, int client_version, bint keep_alive) except -1
