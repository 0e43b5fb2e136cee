# Declared here, defined in http_tunnel.pxi.

# What demux_http does with a request that asks for a tunnel (the server's half: http_server.pxi calls these).
cdef int slot_tunnel_event(ResponseSlot s, Event evt) except -1
cdef int tunnel_request_ended(HttpServerBase srv, ResponseSlot s) except -1
cdef int tunnel_opened(HttpServerBase srv, ResponseSlot s) except -1
cdef int tunnel_refused(HttpServerBase srv, ResponseSlot s) except -1
cdef bint tunnel_input_ended(HttpServerBase srv) except -1
cdef int tunnel_closed(HttpServerBase srv, ResponseSlot s) except -1


# Closes a server's tunnel after tunnel_idle_timeout without bytes either way.
cdef class TunnelIdleTimer:
    cdef HttpServerBase server


# accept_http_tunnel(on_connect): answers a CONNECT (or an Upgrade) under demux_http, then relays the tunnel's bytes
# through the sub-pipeline.
cdef class AcceptHttpTunnel(Filter):
    cdef LayoutRef target
    cdef object on_connect
    cdef bint by_address                 # on_connect(host, port) for CONNECT; else on_connect(request message)
    cdef RequestHead head
    cdef Pipeline sub
    cdef bint answered
    cdef list held                       # events while an awaited callback decides

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef int decide(self) except -1
    cdef int answer(self, object r) except -1
    cdef int respond(self, int status) except -1
    cdef void shutdown(self)


# Takes what connect_http_tunnel's sub-pipeline outputs (the proxy's answer, then the tunnel) back to its filter.
cdef class HttpTunnelReturn(EventTarget):
    cdef ConnectHttpTunnel owner

    cdef int on_event(self, Event evt) except -1


# connect_http_tunnel(target): a CONNECT through the sub-pipeline (mux_http to a proxy), then the stream's bytes.
cdef class ConnectHttpTunnel(Filter):
    cdef LayoutRef target
    cdef object address                  # 'host:port', (host, port), a CONNECT Message, or a callable giving one
    cdef object authorization            # the Proxy-Authorization value, or None
    cdef Py_ssize_t buffer_limit
    cdef Pipeline sub
    cdef HttpTunnelReturn ret
    cdef str where                       # host:port asked for, for log lines
    cdef ResponseHead reply
    cdef list held                       # the stream's events until the proxy agrees
    cdef Py_ssize_t held_size
    cdef bint done
    cdef bint failed

    cdef Filter clone(self)
    cdef int start_early(self) except -1
    cdef int begin(self) except -1
    cdef int on_event(self, Event evt) except -1
    cdef int from_proxy(self, Event evt) except -1
    cdef int fail(self, str why, str error) except -1
    cdef void shutdown(self)
