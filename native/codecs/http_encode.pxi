# Writing HTTP/1.x heads into the scratch buffer (wbuf.pxi). Framing is always the encoder's own: it drops the
# framing fields a head came with and writes Content-Length or chunked for the body it actually sends.

cdef bytes CRLF = b'\r\n'
cdef bytes LAST_CHUNK = b'0\r\n\r\n'


cdef bint bodiless_method(RequestHead h):
    if h.method_cache is None and h.raw is not None:
        # GET and HEAD without making the method a str.
        return (h.method_end - h.method_start == 3 and memcmp(PyBytes_AS_STRING(h.raw) + h.method_start, b'GET', 3) == 0) or \
            (h.method_end - h.method_start == 4 and memcmp(PyBytes_AS_STRING(h.raw) + h.method_start, b'HEAD', 4) == 0) or \
            h.method in ('OPTIONS', 'DELETE', 'TRACE', 'CONNECT')
    m = h.method
    return m == 'GET' or m == 'HEAD' or m == 'OPTIONS' or m == 'DELETE' or m == 'TRACE' or m == 'CONNECT'


cdef int write_request_head(RequestHead h, int64_t body_len, bint chunked) except -1:
    # Requests to an upstream always go as HTTP/1.1 keep-alive: the pool decides when a connection closes.
    cdef int version = h.version
    h.version = 11
    h.write_line()
    h.version = version
    h.write_headers()
    if h.connection_upgrade or h.raw is None or h.headers_cache is not None:
        token = upgrade_token(h)
        if token is not None and token != 'h2c':
            write_upgrade_fields(h)     # the client asked to switch protocols: the upstream is asked too
    if not (h.has_host if h.headers_untouched() else 'host' in h.headers):
        wb_add(b'host: \r\n', 8)        # HTTP/1.1 needs one; an empty one when the request had none
    if chunked:
        wb_add(b'transfer-encoding: chunked\r\n', 28)
    elif body_len > 0 or (body_len == 0 and not bodiless_method(h)):
        wb_add(b'content-length: ', 16)
        wb_int(body_len)
        wb_add(b'\r\n', 2)
    return wb_add(b'\r\n', 2)


cdef inline bint status_has_body(int status):
    return not (status < 200 or status == 204 or status == 304)


cdef int write_response_head(ResponseHead h, int64_t body_len, bint chunked, bint head_request,
                             int client_version, bint keep_alive) except -1:
    # client_version/keep_alive: what the client speaks and whether this connection stays open after this response.
    cdef int status = h.status
    wb_add(b'HTTP/1.1 ', 9)
    wb_int(status)
    wb_add(b' ', 1)
    if h.reason_cache is None and h.raw is not None:
        wb_add(PyBytes_AS_STRING(h.raw) + h.reason_start, h.reason_end - h.reason_start)
    else:
        wb_obj(h.status_text)
    wb_add(b'\r\n', 2)
    h.write_headers()
    if status_has_body(status):
        if head_request:
            # A HEAD response tells the length a GET would get, if it knows it.
            if h.content_length >= 0 and h.raw is not None:
                wb_add(b'content-length: ', 16)
                wb_int(h.content_length)
                wb_add(b'\r\n', 2)
            elif body_len > 0:
                wb_add(b'content-length: ', 16)
                wb_int(body_len)
                wb_add(b'\r\n', 2)
        elif chunked:
            wb_add(b'transfer-encoding: chunked\r\n', 28)
        elif body_len >= 0:
            wb_add(b'content-length: ', 16)
            wb_int(body_len)
            wb_add(b'\r\n', 2)
        # else: the body ends when the connection closes (an HTTP/1.0 client and no known length)
    if not keep_alive:
        wb_add(b'connection: close\r\n', 19)
    elif client_version == 10:
        wb_add(b'connection: keep-alive\r\n', 24)
    return wb_add(b'\r\n', 2)
