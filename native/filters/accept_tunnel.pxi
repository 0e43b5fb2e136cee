# accept_tunnel: the far end of connect_tunnel. The stream is a tunnel connection; each channel opened in it runs
# an instance of the sub-pipeline.


cdef class AcceptTunnel(TunnelPeer):
    """accept_tunnel(): the far end of connect_tunnel's tunnels. Each channel opened in the tunnel gets its own instance of the
    sub-pipeline (typically connect(broker)); its output goes back in the channel."""

    cdef void drain(self):
        # The process is stopping: the tunnel closes once its last channel has ended (at once if it has none).
        self.draining = True
        if not self.channels and not self.dead:
            try:
                self.close(None)
            except Exception as e:
                report_error(e, self.location)

    def __init__(self, LayoutRef target, TunnelOptions opts=None):
        self.target = target
        self.opts = opts if opts is not None else TunnelOptions()

    cdef Filter clone(self):
        cdef AcceptTunnel f = AcceptTunnel.__new__(AcceptTunnel)
        f.target = self.target
        f.init_peer(self.opts)
        return f

    def sub_layouts(self):
        return (self.target,)

    def describe(self):
        return 'accept_tunnel -> %s' % self.target.name

    cdef int on_event(self, Event evt) except -1:
        if self.dead:
            return 0
        if isinstance(evt, Data):
            return self.feed(<Data>evt)
        if isinstance(evt, StreamEnd):
            return self.close((<StreamEnd>evt).error or 'ConnectionReset')
        return 0

    cdef int write_tunnel(self, Event evt) except -1:
        return self.output(evt)

    cdef str describe_peer(self):
        info = self.pipeline.context.inbound if self.pipeline is not None else None
        if info is None:
            return ''
        return 'from %s:%s' % (info.remote_address, info.remote_port)

    cdef void last_channel_gone(self):
        if self.draining and not self.dead:
            self.flush()                   # the last END goes out before the tunnel closes
            self.close(None)

    cdef int open_channel(self, unsigned int cid, bytes payload) except -1:
        cdef TunnelChannel ch
        cdef Pipeline p
        if self.draining:
            self.put_frame(F_RESET, cid, b'ConnectionRefused')
            return 0
        if cid == 0 or cid in self.channels:
            return self.protocol_error('OPEN of channel %d, which is in use' % cid)
        if self.opts.max_streams and len(self.channels) >= self.opts.max_streams:
            self.put_frame(F_RESET, cid, b'BufferOverflow')
            return 0
        info = None
        parts = payload.decode('ascii', 'replace').split()
        if len(parts) == 4 and parts[1].isdigit() and parts[3].isdigit():
            info = InboundInfo((parts[0], int(parts[1])), (parts[2], int(parts[3])))
        ch = self.new_channel(cid)
        self.extra_credit(ch)
        p = start_pipeline(self.target, Context(info), ch)
        p.chain_layouts = self.pipeline.chain_layouts if self.pipeline is not None else None
        p.chain_index = self.pipeline.chain_index if self.pipeline is not None else 0
        ch.stream = p
        p.start_early()
        return 0

    cdef int tunnel_closed(self, object error) except -1:
        return self.output(StreamEnd(error) if error is not None and error != 'ConnectionReset' else STREAM_END_OK)

    cdef void shutdown(self):
        if not self.dead:
            try:
                self.close('ConnectionReset')
            except Exception as e:
                report_error(e, self.location)
