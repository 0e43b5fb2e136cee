# Declared here, defined in accept_tunnel.pxi.

# accept_tunnel(): the far end of connect_tunnel's tunnels.
cdef class AcceptTunnel(TunnelPeer):
    cdef LayoutRef target
    cdef bint draining

    cdef void drain(self)
    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef int write_tunnel(self, Event evt) except -1
    cdef str describe_peer(self)
    cdef void last_channel_gone(self)
    cdef int open_channel(self, unsigned int cid, bytes payload) except -1
    cdef int tunnel_closed(self, object error) except -1
    cdef void shutdown(self)
