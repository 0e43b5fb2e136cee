# The splice relay: once nothing in a connection's pipeline looks at its bytes any more (listen -> connect, or the
# same behind accept_proxy_protocol / connect_proxy_protocol), the accepted socket and connect()'s socket are joined
# in the kernel. Each direction moves bytes socket -> pipe -> socket with splice(2), driven by the event loop's
# readiness callbacks on duplicates of the two descriptors (the transports stop reading; the loop will not watch a
# transport's own descriptor). No byte is copied into Python, and none is held beyond one pipe per direction.
#
# The same behaviour as the normal path: a socket that is not writable stops the other side being read (the pipe
# is the only buffer), a FIN is passed on as a FIN once the pipe is empty (half-close), and when both ways have
# ended, or either side resets, both connections close and the pipeline ends as it would have. The timeouts of
# listen() and connect() keep running on the activity the relay reports. listen(splice=True) asks for it; the
# pipeline decides whether it applies (Filter.relays_bytes()), so one that looks at bytes never gets it.

from libc.errno cimport EAGAIN, EINTR

cdef extern from "<fcntl.h>" nogil:
    ssize_t c_splice "splice"(int fd_in, void* off_in, int fd_out, void* off_out, size_t n, unsigned int flags)
    unsigned int SPLICE_F_MOVE
    unsigned int SPLICE_F_NONBLOCK
    int O_NONBLOCK
    int O_CLOEXEC

cdef extern from "<unistd.h>" nogil:
    int c_pipe2 "pipe2"(int* fds, int flags)

cdef extern from "<sys/socket.h>" nogil:
    int c_shutdown "shutdown"(int fd, int how)
    int SHUT_WR

cdef Py_ssize_t SPLICE_PIECE = 65536     # a pipe's default capacity: one splice fills it
cdef int SPLICE_ROUNDS = 16              # pieces one readiness callback moves before letting others run


cdef bint try_splice_relay(Connect c) except -1:
    # Called as connect()'s socket connects: relay in the kernel if every condition holds, else nothing changes.
    cdef Inbound i
    if not isinstance(c.next, Inbound):
        return False
    i = <Inbound>c.next
    if (i.closed or i.input_ended or i.sender is not None or i.transport is None or i.stream is None
            or not i.listener.splice or i.fd < 0 or c.fd < 0 or c.end_requested or c.pending
            or c.opts.write_timeout > 0 or i.listener.read_timeout > 0 or i.listener.write_timeout > 0):
        return False
    if i.transport.get_write_buffer_size() or c.transport.get_write_buffer_size():
        return False
    if not i.stream.relays_bytes():
        return False
    cdef SpliceRelay r = SpliceRelay.__new__(SpliceRelay)
    r.inbound = i
    r.upstream = c
    r.loop = c.loop
    r.start()
    return True


cdef class SpliceRelay:
    """An accepted connection and its connect() joined in the kernel (see the top of io/relay.pxi)."""

    def __cinit__(self):
        self.up.src = self.up.dst = self.up.pipe_r = self.up.pipe_w = -1
        self.down.src = self.down.dst = self.down.pipe_r = self.down.pipe_w = -1

    cdef int start(self) except -1:
        cdef int fds[2]
        cdef int cfd = -1, ufd = -1
        cfd = c_dup(self.inbound.fd)
        ufd = c_dup(self.upstream.fd) if cfd >= 0 else -1
        self.up.src = self.down.dst = cfd
        self.up.dst = self.down.src = ufd
        if ufd < 0 or c_pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0:
            self.stop()
            return 0
        self.up.pipe_r, self.up.pipe_w = fds[0], fds[1]
        if c_pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0:
            self.stop()
            return 0
        self.down.pipe_r, self.down.pipe_w = fds[0], fds[1]
        self.inbound.relay = self
        self.upstream.relay = self
        self.inbound.transport.pause_reading()
        self.upstream.transport.pause_reading()
        self.watch(&self.up, True)
        self.watch(&self.down, False)
        return 0

    def _up_ready(self):
        if not self.stopped:
            self.pump(&self.up, True)

    def _down_ready(self):
        if not self.stopped:
            self.pump(&self.down, False)

    cdef int pump(self, SpliceWay* w, bint upward) except -1:
        cdef ssize_t r
        cdef int rounds = 0
        cdef bint moved = False
        while rounds < SPLICE_ROUNDS:
            rounds += 1
            if w.in_pipe > 0:
                r = c_splice(w.pipe_r, NULL, w.dst, NULL, w.in_pipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK)
                if r > 0:
                    w.in_pipe -= r
                    moved = True
                    continue
                if r < 0 and errno == EINTR:
                    continue
                if r < 0 and errno == EAGAIN:
                    break                     # dst's send buffer is full: its writability resumes this way
                self.finish('ConnectionReset')
                return 0
            if w.eof:
                break
            r = c_splice(w.src, NULL, w.pipe_w, NULL, SPLICE_PIECE, SPLICE_F_MOVE | SPLICE_F_NONBLOCK)
            if r > 0:
                w.in_pipe += r
                continue
            if r == 0:
                w.eof = True
                continue
            if errno == EINTR:
                continue
            if errno == EAGAIN:
                break                         # nothing more to read now
            self.finish('ConnectionReset')
            return 0
        if w.eof and w.in_pipe == 0 and not w.done:
            # (here, not in the loop: an end read on its last round must still be passed on)
            w.done = True
            c_shutdown(w.dst, SHUT_WR)
            if self.up.done and self.down.done:
                self.finish(None)
                return 0
        if moved:
            # What the timeouts of both ends count as traffic.
            self.inbound.activity += 1
            if upward:
                self.upstream.last_write = now()
                if not self.upstream.framed:
                    self.upstream.awaiting_reply = True
            else:
                self.upstream.last_read = now()
                if not self.upstream.framed:
                    self.upstream.awaiting_reply = False
        self.watch(w, upward)
        return 0

    cdef void watch(self, SpliceWay* w, bint upward):
        # One wait per direction at a time: for dst while the pipe holds bytes (src is not read meanwhile: that is
        # the flow control), else for src until it ends.
        cb = self._up_ready if upward else self._down_ready
        cdef bint want_write = w.in_pipe > 0 and not w.done
        cdef bint want_read = not want_write and not w.eof
        if want_write != w.writing:
            w.writing = want_write
            if want_write:
                self.loop.add_writer(w.dst, cb)
            else:
                self.loop.remove_writer(w.dst)
        if want_read != w.reading:
            w.reading = want_read
            if want_read:
                self.loop.add_reader(w.src, cb)
            else:
                self.loop.remove_reader(w.src)

    cdef void finish(self, str error):
        # Both ways have ended (error None), or a side reset: both connections close, and the pipeline ends the
        # way the normal path ends it (connect() outputs the end of its connection, the client's is closed).
        cdef Inbound i = self.inbound
        cdef Connect c = self.upstream
        self.stop()
        i.input_ended = True
        if c.transport is not None:
            c.transport.close()
        if i.transport is not None and not i.transport.is_closing():
            i.transport.close()

    cdef void stop(self):
        # Back to the transports: the duplicates are unwatched before they are closed (a closed duplicate of a
        # descriptor that stays open would stay registered with epoll).
        if self.stopped:
            return
        self.stopped = True
        self.unwatch(&self.up)
        self.unwatch(&self.down)
        for fd in (self.up.src, self.up.dst, self.up.pipe_r, self.up.pipe_w, self.down.pipe_r, self.down.pipe_w):
            if fd >= 0:
                c_close(fd)
        self.up.src = self.up.dst = self.up.pipe_r = self.up.pipe_w = -1
        self.down.src = self.down.dst = self.down.pipe_r = self.down.pipe_w = -1
        if self.inbound is not None and self.inbound.relay is self:
            self.inbound.relay = None
        if self.upstream is not None and self.upstream.relay is self:
            self.upstream.relay = None

    cdef void unwatch(self, SpliceWay* w):
        if w.reading:
            w.reading = False
            self.loop.remove_reader(w.src)
        if w.writing:
            w.writing = False
            self.loop.remove_writer(w.dst)

    def __dealloc__(self):
        if not self.stopped:
            for fd in (self.up.src, self.up.dst, self.up.pipe_r, self.up.pipe_w, self.down.pipe_r,
                       self.down.pipe_w):
                if fd >= 0:
                    c_close(fd)
