# Declared here, defined in tunnel.pxi.

cdef void tunnel_log(str message)


# A tunnel's options: the window of each channel, the ping interval, and how many sessions and channels at most.
cdef class TunnelOptions:
    cdef public Py_ssize_t window
    cdef public double ping_interval
    cdef public int max_sessions
    cdef public int max_streams


# One stream inside a tunnel.
cdef class TunnelChannel(Endpoint):
    cdef TunnelPeer peer
    cdef unsigned int id
    cdef Py_ssize_t credit               # bytes this side may still send
    cdef Py_ssize_t unacked              # bytes received and not yet given back as credit
    cdef Data pending                    # bytes waiting for credit
    cdef bint end_after_pending
    cdef bint local_done
    cdef bint remote_done
    cdef ConnectTunnel user                        # connecting side: the stream this channel carries
    cdef Pipeline stream                 # accepting side: the sub-pipeline this channel feeds

    cdef int on_event(self, Event evt) except -1
    cdef int send(self, Data d) except -1
    cdef int grant(self, Py_ssize_t n) except -1
    cdef int end_local(self, object error) except -1
    cdef int finish_local(self, object error) except -1
    cdef int deliver(self, object chunk) except -1
    cdef void give_credit(self)
    cdef void pause_input(self)
    cdef void resume_input(self)
    cdef int remote_end(self, object error) except -1
    cdef int to_local(self, Event evt) except -1


# What the frames read from a tunnel mean to its peer's channels.
cdef class PeerFrames(TunnelFrameSink):
    cdef TunnelPeer peer


# One end of a tunnel connection.
cdef class TunnelPeer(Filter):
    cdef TunnelOptions opts
    cdef dict channels
    cdef object loop
    cdef bint dead
    cdef Endpoint congested_by           # the tunnel's socket, while it was over its high-water mark at the last write
    cdef TunnelFrameReader reader
    cdef TunnelFrameWriter writer        # frames waiting for the end of this loop turn
    cdef bint flush_scheduled
    # liveness
    cdef unsigned long received
    cdef unsigned long received_seen
    cdef bint ping_sent
    cdef object ping_timer

    cdef void init_peer(self, TunnelOptions opts)
    cdef int put_frame(self, int ftype, unsigned int cid, object payload) except -1
    cdef int put_window(self, unsigned int cid, Py_ssize_t n) except -1
    cdef int put_data(self, unsigned int cid, Data d) except -1
    cdef inline void schedule_flush(self):
        if not self.flush_scheduled:
            self.flush_scheduled = True
            self.loop.call_soon(self._flush)
    cdef int flush(self) except -1
    cdef int write_tunnel(self, Event evt) except -1
    cdef int feed(self, Data d) except -1
    cdef int on_data_frame(self, unsigned int cid, object chunk) except -1
    cdef int on_channel_end(self, unsigned int cid, object error) except -1
    cdef int on_window(self, unsigned int cid, Py_ssize_t n) except -1
    cdef int open_channel(self, unsigned int cid, bytes payload) except -1
    cdef TunnelChannel new_channel(self, unsigned int cid)
    cdef int extra_credit(self, TunnelChannel ch) except -1
    cdef void forget(self, TunnelChannel ch)
    cdef void last_channel_gone(self)
    cdef int protocol_error(self, str what) except -1
    cdef str describe_peer(self)
    cdef int close(self, object error) except -1
    cdef int tunnel_closed(self, object error) except -1
