# Flow control. An endpoint whose transport buffers more than its high-water mark is congested; whichever endpoint's
# read produced the data that got it there pauses its reading until the congested one drains.
# This file owns _congested: others note congestion through an Endpoint, or swap the variable to look at what one
# write caused (swap_congested).
cdef Endpoint _congested = None


cdef inline Endpoint congested_endpoint() noexcept:
    return _congested


cdef inline Endpoint swap_congested(Endpoint e):
    global _congested
    cdef Endpoint was = _congested
    _congested = e
    return was


import socket as _socket
import time as _time

cdef extern from "<sys/socket.h>" nogil:
    ssize_t c_send "send"(int fd, const void* buf, size_t n, int flags)
    int MSG_MORE
    int MSG_NOSIGNAL


cdef class Endpoint(Filter):
    """A socket's side of a pipeline: it reads into one and writes what comes out of one."""

    cdef inline void note_congestion(self):
        global _congested
        _congested = self

    cdef inline void read_begins(self):
        dispatch_begins()

    cdef void read_ends(self):
        # The read has been pushed through the pipelines: held bodies go out, and if it congested someone, this
        # endpoint stops reading until that one drains.
        dispatch_ends()
        if _congested is not None:
            self.after_dispatch()

    cdef void after_dispatch(self):
        # Called after a read has been pushed through the pipelines.
        global _congested
        cdef Endpoint c = _congested
        if c is None:
            return
        _congested = None
        if not c.write_paused:
            return
        # (c may be this endpoint itself: a client that sends and does not read what it is answered is not read
        # either until it has read its answers.)
        if c.waiters is None:
            c.waiters = []
        if not self.read_paused:
            self.read_paused = True
            self.pause_input()
        c.waiters.append(self)

    cdef void drained(self):
        cdef Endpoint w
        self.write_paused = False
        if self.waiters:
            waiters, self.waiters = self.waiters, None
            for w in waiters:
                if w.read_paused:
                    w.read_paused = False
                    w.resume_input()

    cdef void use_socket(self, object transport):
        # Bytes go straight to a plain TCP socket with send(2) while the transport holds nothing back: the
        # transport's write path (buffer bookkeeping, a write(2) through the VFS) costs more than the send itself,
        # twice per proxied request. A TLS transport must see every byte, so it keeps them all.
        self.fd = -1
        self.opened_at = _time.time()
        try:
            if transport.get_extra_info('sslcontext') is None:
                sock = transport.get_extra_info('socket')
                if sock is not None and sock.type == _socket.SOCK_STREAM:
                    self.fd = sock.fileno()
        except Exception:
            self.fd = -1
        self.transport_holds = False

    def connection_info(self):
        """(transport, opened_at) while the socket is connected, else None: what pipyx.inbound()/outbound() list."""
        if self.transport is None or self.opened_at == 0:
            return None
        return self.transport, self.opened_at

    cdef int send_bytes(self, object b) except -1:
        # One bytes object to the peer: sent at once when nothing waits in the transport, else (or for what the
        # socket does not take now) through the transport, which keeps the order and the flow control.
        cdef ssize_t r
        cdef Py_ssize_t n
        # (Not once the transport is closing: it may have closed the descriptor, whose number a new connection
        # can then have.)
        if self.fd >= 0 and PyBytes_Check(b) and not self.transport.is_closing():
            if self.transport_holds and self.transport.get_write_buffer_size() == 0:
                self.transport_holds = False
            if not self.transport_holds:
                n = PyBytes_GET_SIZE(b)
                r = c_send(self.fd, PyBytes_AS_STRING(b), n, MSG_NOSIGNAL)
                if r == n:
                    return 0
                if r > 0:
                    b = PyBytes_FromStringAndSize(PyBytes_AS_STRING(b) + r, n - r)
        # Errors too go to the transport: it reports a broken connection the way the loop expects.
        self.transport_holds = True
        self.write(b)
        return 0

    cdef int send_chunks(self, list chunks) except -1:
        self.transport_holds = True
        self.transport.writelines(chunks)
        return 0

    cdef void pause_input(self):
        # A socket stops reading; an endpoint that is not a socket (a tunnel's stream) does its own kind of pause.
        if self.transport is not None:
            try:
                self.transport.pause_reading()
            except Exception:
                pass

    cdef void resume_input(self):
        if self.transport is not None:
            try:
                self.transport.resume_reading()
            except Exception:
                pass
