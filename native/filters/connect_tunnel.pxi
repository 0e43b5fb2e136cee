# connect_tunnel: carries each stream in a channel of a tunnel session, opening sessions (instances of its
# sub-pipeline, typically connect(cloud)) per session key as streams arrive. The far end runs accept_tunnel.


cdef class ConnectTunnelShared:
    """What every instance of one connect_tunnel filter shares: its sub-pipeline, options and sessions per key."""


cdef class TunnelSession(TunnelPeer):
    """A tunnel connection opened by connect_tunnel: one instance of the sub-pipeline (typically connect(cloud))."""

    cdef int on_event(self, Event evt) except -1:
        # What the session pipeline outputs: the tunnel's bytes, or its end.
        if self.dead:
            return 0
        if isinstance(evt, Data):
            return self.feed(<Data>evt)
        if isinstance(evt, StreamEnd):
            err = (<StreamEnd>evt).error
            if err is not None:
                tunnel_log('tunnel to %s: %s; its streams are closed' % (self.describe_peer(), err))
            return self.close(err if err is not None else 'ConnectionReset')
        return 0

    cdef int write_tunnel(self, Event evt) except -1:
        return self.stream.on_event(evt)

    cdef str describe_peer(self):
        return self.target_name or ''

    cdef TunnelChannel open_for(self, ConnectTunnel user):
        cdef TunnelChannel ch
        cdef object info = user.pipeline.context.inbound if user.pipeline is not None else None
        self.next_id += 1
        ch = self.new_channel(self.next_id)
        ch.user = user
        meta = b''
        if info is not None and getattr(info, 'remote_address', None) is not None:
            meta = ('%s %s %s %s' % (info.remote_address, info.remote_port, info.local_address,
                                     info.local_port)).encode('ascii', 'replace')
        self.put_frame(F_OPEN, ch.id, meta)
        self.extra_credit(ch)
        return ch

    cdef int tunnel_closed(self, object error) except -1:
        sessions = self.shared.sessions.get(self.key)
        if sessions is not None and self in sessions:
            sessions.remove(self)
            if not sessions:
                del self.shared.sessions[self.key]
        stream, self.stream = self.stream, None
        if stream is not None:
            stream.on_event(StreamEnd(error) if error is not None and error != 'ConnectionReset' else STREAM_END_OK)
            stream.shutdown()
        return 0


cdef class ConnectTunnel(Filter):
    """connect_tunnel(session_key, ...): carries this stream's bytes in a channel of a shared tunnel session (the sub-pipeline
    from .to(), typically connect(cloud)) and outputs what comes back on the channel."""

    def __init__(self, LayoutRef target, session_key=None, TunnelOptions opts=None):
        self.shared = ConnectTunnelShared.__new__(ConnectTunnelShared)
        self.shared.target = target
        self.shared.session_key = session_key
        self.shared.opts = opts if opts is not None else TunnelOptions()
        self.shared.sessions = {}

    cdef Filter clone(self):
        cdef ConnectTunnel f = ConnectTunnel.__new__(ConnectTunnel)
        f.shared = self.shared
        return f

    def sub_layouts(self):
        return (self.shared.target,)

    def describe(self):
        return 'connect_tunnel -> %s' % self.shared.target.name

    cdef TunnelSession pick_session(self):
        cdef ConnectTunnelShared sh = self.shared
        cdef TunnelSession s, best = None
        cdef int most = sh.opts.max_sessions if sh.opts.max_sessions > 0 else 1
        key = self.evaluate(sh.session_key)
        sessions = sh.sessions.get(key)
        if sessions is None:
            sessions = sh.sessions[key] = []
        for x in sessions:
            s = <TunnelSession>x
            if s.dead or s.next_id >= 0xFFFFFFF0:
                continue
            if sh.opts.max_streams and len(s.channels) >= sh.opts.max_streams:
                continue
            if best is None or len(s.channels) < len(best.channels):
                best = s
        if best is not None and (len(sessions) >= most or len(best.channels) == 0):
            return best
        if len(sessions) >= most:
            return None
        # Below max_sessions a new stream opens a new tunnel, so the load spreads over all of them.
        s = TunnelSession.__new__(TunnelSession)
        s.shared = sh
        s.key = key
        s.location = self.location
        s.scope = self.scope
        s.init_peer(sh.opts)
        s.stream = start_pipeline(sh.target, self.pipeline.context.clone(), s)
        l = sh.target.layout
        t = l.first_target() if l is not None else None
        if t is not None and not callable(t):
            s.target_name = str(t)
        sessions.append(s)
        return s

    cdef int on_event(self, Event evt) except -1:
        cdef TunnelSession s
        if self.done:
            return 0
        if self.channel is None:
            if isinstance(evt, StreamEnd):
                self.done = True
                return self.output(evt)
            if not isinstance(evt, Data):
                return 0
            self.begin()
            if self.channel is None:
                return 0
        if isinstance(evt, Data):
            return self.channel.send(<Data>evt)
        if isinstance(evt, StreamEnd):
            self.done = True
            return self.channel.end_local((<StreamEnd>evt).error)
        return 0                           # message boundaries do not cross a tunnel: encode before it

    cdef int start_early(self) except -1:
        return self.begin()

    cdef int begin(self) except -1:
        # Opens the channel: at the stream's first bytes, or as soon as the connection is accepted when connect_tunnel is the
        # first filter (the far side may speak first).
        cdef TunnelSession s
        if self.channel is not None or self.done:
            return 0
        s = self.pick_session()
        if s is None:
            self.done = True
            tunnel_log('connect_tunnel: every tunnel session is full (max_sessions=%d, max_streams=%d); stream refused' % (
                self.shared.opts.max_sessions, self.shared.opts.max_streams))
            return self.output(StreamEnd('BufferOverflow'))
        self.channel = s.open_for(self)
        return 0

    cdef void shutdown(self):
        cdef TunnelChannel ch = self.channel
        if ch is not None:
            self.channel = None
            ch.user = None
            if not ch.local_done:
                try:
                    ch.end_local('ConnectionReset')
                except Exception as e:
                    report_error(e, self.location)
