# Declared here, defined in http_upgrade.pxi.

cdef enum TunnelKind:
    TUNNEL_NONE = 0
    TUNNEL_UPGRADE = 1                  # Connection: upgrade + Upgrade: <token>, switched by a 101
    TUNNEL_CONNECT = 2                  # CONNECT host:port, opened by a 2xx


cdef bint is_connect_method(RequestHead h)
cdef bint wants_upgrade(HttpHead h)
cdef str upgrade_token(HttpHead h)
cdef int request_tunnel_kind(RequestHead h)
cdef bint tunnel_accepted(int kind, int status) noexcept
cdef int write_upgrade_fields(HttpHead h) except -1
cdef int write_tunnel_response_head(ResponseHead h) except -1
