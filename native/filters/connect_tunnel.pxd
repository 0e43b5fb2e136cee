# Declared here, defined in connect_tunnel.pxi.

# What every instance of one connect_tunnel filter shares.
cdef class ConnectTunnelShared:
    cdef LayoutRef target
    cdef object session_key
    cdef TunnelOptions opts
    cdef dict sessions                   # key -> list of TunnelSession


# A tunnel connection opened by connect_tunnel.
cdef class TunnelSession(TunnelPeer):
    cdef ConnectTunnelShared shared
    cdef object key
    cdef Pipeline stream
    cdef unsigned int next_id
    cdef str target_name

    cdef int on_event(self, Event evt) except -1
    cdef int write_tunnel(self, Event evt) except -1
    cdef str describe_peer(self)
    cdef TunnelChannel open_for(self, ConnectTunnel user)
    cdef int tunnel_closed(self, object error) except -1


# connect_tunnel(session_key, ...): carries this stream's bytes in a channel of a shared tunnel session (the sub-
# pipeline from .to(), typically connect(cloud)) and outputs what comes back on the channel.
cdef class ConnectTunnel(Filter):
    cdef ConnectTunnelShared shared
    cdef TunnelChannel channel
    cdef bint done

    cdef Filter clone(self)
    cdef TunnelSession pick_session(self)
    cdef int on_event(self, Event evt) except -1
    cdef int begin(self) except -1
    cdef int start_early(self) except -1
    cdef void shutdown(self)
