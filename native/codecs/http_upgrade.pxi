# What turns an HTTP/1.x exchange into a tunnel: a request asking to switch protocols (Upgrade) or to open a
# tunnel (CONNECT), and the answer that agrees (101, or 2xx to a CONNECT). After it the connection carries raw bytes
# both ways. Upgrade and Connection are hop-by-hop: each hop that agrees to pass an upgrade writes them again.


cdef bint is_connect_method(RequestHead h):
    if h.method_cache is None and h.raw is not None:
        return h.method_end - h.method_start == 7 and \
            memcmp(PyBytes_AS_STRING(h.raw) + h.method_start, b'CONNECT', 7) == 0
    return h.method == 'CONNECT'


cdef bint wants_upgrade(HttpHead h):
    # A head from the wire has its Connection tokens scanned already; one a script made (or changed) is read from
    # its fields.
    if h.raw is not None and h.headers_cache is None:
        return h.connection_upgrade
    hs = h.headers
    if 'upgrade' not in hs:
        return False
    conn = hs.get('connection', '')
    return isinstance(conn, str) and 'upgrade' in [t.strip().lower() for t in conn.split(',')]


cdef str upgrade_token(HttpHead h):
    # The protocol asked for, in lower case ('websocket', 'h2c'), or None.
    if not wants_upgrade(h):
        return None
    v = h.headers.get('upgrade')
    return v.strip().lower() if isinstance(v, str) and v.strip() else None


cdef int request_tunnel_kind(RequestHead h):
    cdef str token
    if is_connect_method(h):
        return TUNNEL_CONNECT
    if not h.connection_upgrade and h.raw is not None and h.headers_cache is None:
        return TUNNEL_NONE                 # the common case: decided without a Python object
    token = upgrade_token(h)
    if token is None:
        return TUNNEL_NONE
    if token == 'h2c':
        # Upgrade to HTTP/2 on plain text is the HTTP/2 server's to take, at the server that received it (it is
        # not passed on). Until a server takes it, the request is answered as a plain HTTP/1.1 request.
        return TUNNEL_NONE
    return TUNNEL_UPGRADE


cdef bint tunnel_accepted(int kind, int status) noexcept:
    if kind == TUNNEL_UPGRADE:
        return status == 101
    if kind == TUNNEL_CONNECT:
        return 200 <= status < 300
    return False


cdef int write_upgrade_fields(HttpHead h) except -1:
    token = h.headers.get('upgrade')
    if not token:
        return 0
    wb_add(b'connection: upgrade\r\n', 21)
    return write_field('upgrade', token)


cdef int write_tunnel_response_head(ResponseHead h) except -1:
    # The answer that opens a tunnel: no framing fields (what follows is not a body), and for a 101 the upgrade
    # fields the client must see.
    wb_add(b'HTTP/1.1 ', 9)
    wb_int(h.status)
    wb_add(b' ', 1)
    if h.reason_cache is None and h.raw is not None:
        wb_add(PyBytes_AS_STRING(h.raw) + h.reason_start, h.reason_end - h.reason_start)
    else:
        wb_obj(h.status_text)
    wb_add(b'\r\n', 2)
    h.write_headers()
    if h.status == 101:
        write_upgrade_fields(h)
    return wb_add(b'\r\n', 2)
