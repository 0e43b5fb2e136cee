# demux_http: every request gets its own sub-pipeline; the responses go back in request order (http_server.pxi).

cdef class DemuxHTTP(HttpServerBase):
    """demux_http(): gives every request its own sub-pipeline (from .to(...)), which receives the request message
    and outputs the response message."""

    def __init__(self, LayoutRef target, HttpLimits limits=None, double tunnel_idle_timeout=60.0):
        self.target = target
        self.limits = limits if limits is not None else DEFAULT_LIMITS
        self.tunnel_idle_timeout = tunnel_idle_timeout

    cdef Filter clone(self):
        cdef DemuxHTTP f = DemuxHTTP.__new__(DemuxHTTP)
        f.target = self.target
        f.limits = self.limits
        f.tunnels = True                 # Upgrade and CONNECT go to the request's pipeline (http_tunnel.pxi)
        f.tunnel_idle_timeout = self.tunnel_idle_timeout
        f.setup()
        return f

    def sub_layouts(self):
        return (self.target,)

    cdef int guarded(self, ResponseSlot s, Event evt) except -1:
        # An error inside one request's pipeline answers that request with 500 and leaves the others alone.
        try:
            s.sub.on_event(evt)
        except Exception as e:
            report_error(e, self.location)
            if s.sub is not None:
                s.sub.shutdown()
                s.sub = None
            s.on_stream_end('RuntimeError')
        return 0

    cdef int request_start(self, ResponseSlot s) except -1:
        s.sub = self.sub_pipeline(self.target, s)
        return self.guarded(s, new_start(s.req))

    cdef int request_body(self, ResponseSlot s, object chunk) except -1:
        if s.sub is not None:
            return self.guarded(s, Data.wrap(chunk))
        return 0

    cdef int request_end(self, ResponseSlot s) except -1:
        if s.sub is not None:
            self.guarded(s, new_end())
        if s.done and s.sub is not None:
            self.end_sub(s)
        return 0

    def describe(self):
        return 'demux_http -> %s' % self.target.name
