# What the tunnel pair (connect_tunnel, accept_tunnel) shares: many streams carried over a few tunnel connections,
# each stream in its own channel. The frames are codecs/tunnel_frame.pxi's; here is what they mean. A channel never
# has more than its window of bytes in flight, so one slow device or broker connection holds up only its own channel,
# never the tunnel. Frames are collected and written once per turn of the event loop: the reads of many devices leave
# in one write to the tunnel.

_tunnel_log = None


cdef void tunnel_log(str message):
    global _tunnel_log
    if _tunnel_log is None:
        import logging
        _tunnel_log = logging.getLogger('pipyx.tunnel')
    _tunnel_log.warning(message)


cdef class TunnelOptions:
    """window: the bytes a channel may have in flight towards this side (at least 64 KiB); ping_interval: seconds
    without hearing from the peer before a PING, and again before the tunnel is given up (0: never);
    max_sessions / max_streams: tunnel connections per session key, channels per tunnel (0: no limit)."""

    def __init__(self, window=INITIAL_WINDOW, ping_interval=15.0, max_sessions=1, max_streams=0):
        if window < INITIAL_WINDOW:
            raise ValueError('window must be at least %d bytes' % INITIAL_WINDOW)
        if window > 0x7FFFFFFF:
            raise ValueError('window must be below 2 GiB')
        self.window = window
        self.ping_interval = ping_interval or 0
        self.max_sessions = max_sessions or 0
        self.max_streams = max_streams or 0


cdef class TunnelChannel(Endpoint):
    """One stream inside a tunnel. As an Endpoint it takes part in flow control: it is congested while it has no
    credit to send, and it pauses (by withholding credit) when what it delivers locally is congested."""

    cdef int on_event(self, Event evt) except -1:
        # AcceptTunnel side: what the channel's sub-pipeline outputs goes back through the tunnel.
        if isinstance(evt, Data):
            return self.send(<Data>evt)
        if isinstance(evt, StreamEnd):
            return self.end_local((<StreamEnd>evt).error)
        return 0

    cdef int send(self, Data d) except -1:
        cdef Py_ssize_t n = d.nbytes()
        cdef TunnelPeer peer = self.peer
        if self.local_done or n == 0 or peer.dead:
            return 0
        if self.pending is not None:
            self.pending.append_data(d)
            self.note_congestion()
            return 0
        if n <= self.credit:
            self.credit -= n
            peer.put_data(self.id, d)
        else:
            if self.credit > 0:
                peer.put_data(self.id, <Data>d.slice(0, self.credit))
                d = <Data>d.slice(self.credit)
                self.credit = 0
            self.pending = Data.__new__(Data)
            self.pending.append_data(d)
            self.write_paused = True
            self.note_congestion()
            return 0
        if peer.congested_by is not None:
            # The tunnel's own socket is over its high-water mark: whoever sent this waits for it to drain.
            if peer.congested_by.write_paused:
                peer.congested_by.note_congestion()
            else:
                peer.congested_by = None
        return 0

    cdef int grant(self, Py_ssize_t n) except -1:
        cdef Data p
        if n <= 0 or n > 0x7FFFFFFF or self.credit + n > 0x7FFFFFFF:
            return self.peer.protocol_error('window update of %d on channel %d' % (n, self.id))
        self.credit += n
        if self.pending is not None:
            p = self.pending
            self.pending = None
            if p.nbytes() <= self.credit:
                self.credit -= p.nbytes()
                self.peer.put_data(self.id, p)
            else:
                self.peer.put_data(self.id, <Data>p.slice(0, self.credit))
                self.pending = Data.__new__(Data)
                self.pending.append_data(<Data>p.slice(self.credit))
                self.credit = 0
                return 0
            if self.end_after_pending:
                self.end_after_pending = False
                self.finish_local(None)
        if self.write_paused:
            self.drained()
        return 0

    cdef int end_local(self, object error) except -1:
        # This side of the stream ended: END after what is still waiting for credit, or RESET at once.
        if self.local_done:
            return 0
        if error is None and self.pending is not None:
            self.end_after_pending = True
            return 0
        return self.finish_local(error)

    cdef int finish_local(self, object error) except -1:
        cdef TunnelPeer peer = self.peer
        self.local_done = True
        if error is not None:
            self.pending = None
            self.remote_done = True
            if not peer.dead:
                peer.put_frame(F_RESET, self.id, str(error).encode('ascii', 'replace'))
        elif not peer.dead:
            peer.put_frame(F_END, self.id, None)
        if self.remote_done:
            peer.forget(self)
        self.drained()
        return 0

    cdef int deliver(self, object chunk) except -1:
        # DATA from the peer: out to the local side, then credit back unless the local side is congested.
        cdef Py_ssize_t n = len(chunk)
        cdef TunnelPeer peer = self.peer
        cdef Endpoint c
        if self.remote_done:
            return 0
        self.unacked += n
        if self.unacked > peer.opts.window:
            return peer.protocol_error('channel %d sent past its window' % self.id)
        self.to_local(Data.wrap(chunk))
        c = congested_endpoint()
        if c is not None:
            if c is self:
                # What the local side answered is waiting for the peer's credit (its reader is slow): stop giving
                # credit for more input until the answers have gone.
                swap_congested(None)
                if self.write_paused and not self.read_paused:
                    self.read_paused = True
                    if self.waiters is None:
                        self.waiters = []
                    self.waiters.append(self)
            else:
                self.after_dispatch()
        if not self.read_paused and self.unacked >= peer.opts.window // 2 and not peer.dead:
            self.give_credit()
        return 0

    cdef void give_credit(self):
        cdef Py_ssize_t n = self.unacked
        self.unacked = 0
        if not self.remote_done:
            self.peer.put_window(self.id, n)

    cdef void pause_input(self):
        pass                             # read_paused is set: deliver() stops giving credit back

    cdef void resume_input(self):
        if self.unacked and not self.peer.dead:
            self.give_credit()

    cdef int remote_end(self, object error) except -1:
        # END (error None) or RESET from the peer, or the tunnel is gone.
        if self.remote_done:
            return 0
        self.remote_done = True
        if error is not None:
            self.local_done = True
            self.pending = None
        self.drained()
        try:
            self.to_local(StreamEnd(error) if error is not None else STREAM_END_OK)
        finally:
            if self.local_done:
                self.peer.forget(self)
        return 0

    cdef int to_local(self, Event evt) except -1:
        if self.user is not None:
            return self.user.output(evt)
        if self.stream is not None:
            return self.stream.on_event(evt)
        return 0


cdef class PeerFrames(TunnelFrameSink):
    """What the frames read from a tunnel mean to its peer's channels."""

    cdef int on_open(self, unsigned int cid, bytes meta) except -1:
        return self.peer.open_channel(cid, meta)

    cdef int on_data(self, unsigned int cid, object chunk) except -1:
        return self.peer.on_data_frame(cid, chunk)

    cdef int on_end(self, unsigned int cid) except -1:
        return self.peer.on_channel_end(cid, None)

    cdef int on_reset(self, unsigned int cid, str reason) except -1:
        return self.peer.on_channel_end(cid, reason if reason in STREAM_END_ERRORS else 'ConnectionReset')

    cdef int on_window(self, unsigned int cid, Py_ssize_t n) except -1:
        return self.peer.on_window(cid, n)

    cdef int on_ping(self, bytes payload) except -1:
        return self.peer.put_frame(F_PONG, 0, payload)

    cdef int on_frame_error(self, str what) except -1:
        return self.peer.protocol_error(what)


cdef class TunnelPeer(Filter):
    """One end of a tunnel connection: the channel table, the frame decoder, and the buffer frames are written to."""

    cdef void init_peer(self, TunnelOptions opts):
        cdef PeerFrames frames = PeerFrames.__new__(PeerFrames)
        frames.peer = self
        self.opts = opts
        self.channels = {}
        self.loop = _asyncio.get_event_loop()
        self.reader = TunnelFrameReader(frames)
        self.writer = TunnelFrameWriter.__new__(TunnelFrameWriter)
        self.put_frame(F_HELLO, 0, TUNNEL_MAGIC)
        if opts.ping_interval > 0:
            self.ping_timer = self.loop.call_later(opts.ping_interval, self._ping_tick)

    # -- writing ----------------------------------------------------------------------------------------------------

    cdef int put_frame(self, int ftype, unsigned int cid, object payload) except -1:
        if self.dead:
            return 0
        self.writer.put_frame(ftype, cid, payload)
        self.schedule_flush()
        return 0

    cdef int put_window(self, unsigned int cid, Py_ssize_t n) except -1:
        if self.dead:
            return 0
        self.writer.put_window(cid, n)
        self.schedule_flush()
        return 0

    cdef int put_data(self, unsigned int cid, Data d) except -1:
        if self.dead:
            return 0
        self.writer.put_data(cid, d)
        self.schedule_flush()
        return 0

    def _flush(self):
        self.flush_scheduled = False
        try:
            self.flush()
        except Exception as e:
            report_error(e, self.location)

    cdef int flush(self) except -1:
        cdef Data d
        if self.dead or not self.writer.has_output():
            return 0
        d = self.writer.take()
        saved = swap_congested(None)
        self.write_tunnel(d)
        caused = swap_congested(saved)
        if caused is not None:
            self.congested_by = caused
        return 0

    cdef int write_tunnel(self, Event evt) except -1:
        return 0                           # where the framed bytes go: the session pipeline, or accept_tunnel's output

    # -- reading ----------------------------------------------------------------------------------------------------

    cdef int feed(self, Data d) except -1:
        self.received += 1
        for i in range(d.chunk_count()):
            if self.dead:
                break
            self.reader.feed(d.chunk_at(i))
        return 0

    cdef int on_data_frame(self, unsigned int cid, object chunk) except -1:
        ch = self.channels.get(cid)
        if ch is not None:
            (<TunnelChannel>ch).deliver(chunk)
        return 0                           # a channel that was reset: its data in flight is dropped

    cdef int on_channel_end(self, unsigned int cid, object error) except -1:
        # END (error None) or RESET from the peer.
        ch = self.channels.get(cid)
        if ch is not None:
            (<TunnelChannel>ch).remote_end(error)
        return 0

    cdef int on_window(self, unsigned int cid, Py_ssize_t n) except -1:
        ch = self.channels.get(cid)
        if ch is not None:
            (<TunnelChannel>ch).grant(n)
        return 0

    cdef int open_channel(self, unsigned int cid, bytes payload) except -1:
        return self.protocol_error('OPEN sent to the opening side')

    # -- channels and the end of the tunnel -------------------------------------------------------------------------

    cdef TunnelChannel new_channel(self, unsigned int cid):
        cdef TunnelChannel ch = TunnelChannel.__new__(TunnelChannel)
        ch.peer = self
        ch.id = cid
        ch.credit = INITIAL_WINDOW
        self.channels[cid] = ch
        return ch

    cdef int extra_credit(self, TunnelChannel ch) except -1:
        # A window bigger than the initial one: the difference goes to the peer once the channel is known to both.
        if self.opts.window > INITIAL_WINDOW:
            self.put_window(ch.id, self.opts.window - INITIAL_WINDOW)
        return 0

    cdef void forget(self, TunnelChannel ch):
        if self.channels.get(ch.id) is ch:
            del self.channels[ch.id]
        if ch.stream is not None:
            stream, ch.stream = ch.stream, None
            (<Pipeline>stream).shutdown()
        if not self.channels:
            self.last_channel_gone()

    cdef void last_channel_gone(self):
        pass

    cdef int protocol_error(self, str what) except -1:
        tunnel_log('tunnel %s: protocol error: %s; closing it' % (self.describe_peer(), what))
        return self.close('ProtocolError')

    cdef str describe_peer(self):
        return ''

    def _ping_tick(self):
        self.ping_timer = None
        if self.dead:
            return
        if self.received != self.received_seen:
            self.received_seen = self.received
            self.ping_sent = False
        elif self.ping_sent:
            tunnel_log('tunnel %s: no answer to PING for %gs; closing it' % (self.describe_peer(),
                                                                            self.opts.ping_interval))
            self.close('IdleTimeout')
            return
        else:
            self.ping_sent = True
            self.put_frame(F_PING, 0, b'pipyx')
        self.ping_timer = self.loop.call_later(self.opts.ping_interval, self._ping_tick)

    cdef int close(self, object error) except -1:
        # The tunnel is gone (or given up): every channel in it ends with error, then the connection itself.
        cdef TunnelChannel ch
        if self.dead:
            return 0
        self.dead = True
        if self.reader is not None:
            self.reader.stop()             # frames after the one that ended the tunnel mean nothing
        if self.ping_timer is not None:
            self.ping_timer.cancel()
            self.ping_timer = None
        channels, self.channels = self.channels, {}
        for c in channels.values():
            ch = <TunnelChannel>c
            try:
                ch.remote_end(error if error is not None else 'ConnectionReset')
            except Exception as e:
                report_error(e, self.location)
            if ch.stream is not None:
                stream, ch.stream = ch.stream, None
                (<Pipeline>stream).shutdown()
        return self.tunnel_closed(error)

    cdef int tunnel_closed(self, object error) except -1:
        return 0
