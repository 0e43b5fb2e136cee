# Sending a file span (Data.file) on a connection: with sendfile(2) straight from the file to the socket when the
# connection is plain TCP, so the bytes never pass through the process; read in pieces under the connection's flow
# control when it is TLS. What the pipeline outputs meanwhile (the next pipelined response, the end of the stream)
# waits behind the span, in order.

from posix.unistd cimport close as c_close, dup as c_dup
from cpython.bytes cimport PyBytes_AS_STRING
from posix.types cimport off_t
from libc.errno cimport errno, EAGAIN, EINTR

cdef extern from "<sys/sendfile.h>" nogil:
    ssize_t c_sendfile "sendfile"(int out_fd, int in_fd, off_t* offset, size_t count)

import os as _os

_file_log = None

cdef Py_ssize_t READ_PIECE = 256 * 1024


cdef class FileSender:

    cdef void start(self):
        self.file_fd = -1
        self.sock_fd = -1
        self.loop = self.inbound.listener.loop or _asyncio.get_event_loop()
        self.pos = self.chunk.offset
        self.end = self.chunk.offset + self.chunk.length
        transport = self.inbound.transport
        try:
            if self.chunk.handle is not None:
                self.handle = self.chunk.handle
                self.file_fd = self.handle.fd
            else:
                self.file_fd = _os.open(self.chunk.path, _os.O_RDONLY | getattr(_os, 'O_CLOEXEC', 0))
                if _os.fstat(self.file_fd).st_size < self.end:
                    raise OSError('the file is shorter than the response says (%d bytes)' % self.end)
            self.sock_fd = self.inbound.sendfile_fd()
            if self.sock_fd < 0:
                self.by_reading = True
            if self.head is not None:
                self.send_head()
            self.pump()
        except Exception as e:
            self.fail(e)

    cdef int send_head(self) except -1:
        # The response head goes on the socket with MSG_MORE, so that it leaves in the same segments as the file's
        # first bytes (nginx's tcp_nopush), unless the transport still holds bytes: then they go behind those.
        cdef bytes head = b''.join(self.head) if len(self.head) > 1 else bytes(self.head[0])
        cdef ssize_t r = -1
        cdef Py_ssize_t n = len(head)
        self.head = None
        if not self.by_reading and self.inbound.transport.get_write_buffer_size() == 0:
            r = c_send(self.sock_fd, PyBytes_AS_STRING(head), n, MSG_MORE | MSG_NOSIGNAL)
            if r < 0 and errno != EAGAIN and errno != EINTR:
                raise OSError(errno, _os.strerror(errno))
        if r < n:
            self.inbound.transport.write(head[r:] if r > 0 else head)
        self.inbound.activity += 1
        return 0

    cdef int pump(self) except -1:
        cdef off_t off
        cdef ssize_t r
        cdef Inbound inbound = self.inbound
        if self.done:
            return 0
        if self.by_reading:
            while self.pos < self.end and not inbound.write_paused and not self.done:
                b = _os.pread(self.file_fd, min(READ_PIECE, self.end - self.pos), self.pos)
                if not b:
                    raise OSError('%s got shorter while it was being sent' % self.chunk.path)
                self.pos += len(b)
                inbound.activity += 1
                inbound.transport.write(b)
            if self.pos >= self.end:
                self.finish()
            return 0
        # Only once the transport has sent everything written before the span can the span go on the socket.
        if inbound.transport.get_write_buffer_size() == 0:
            while self.pos < self.end:
                off = self.pos
                with nogil:
                    r = c_sendfile(self.sock_fd, self.file_fd, &off, <size_t>min(self.end - self.pos, 1 << 30))
                if r > 0:
                    self.pos += r
                    inbound.activity += 1
                elif r == 0:
                    raise OSError('%s got shorter while it was being sent' % self.chunk.path)
                elif errno == EINTR:
                    continue
                elif errno == EAGAIN:
                    break
                else:
                    raise OSError(errno, _os.strerror(errno))
            if self.pos >= self.end:
                self.finish()
                return 0
        if not self.watching:
            self.watching = True
            self.loop.add_writer(self.sock_fd, self._writable)
        return 0

    def _writable(self):
        try:
            self.pump()
        except Exception as e:
            self.fail(e)

    cdef void resume(self):
        # The transport drained below its low-water mark (reading mode waits for that).
        if self.by_reading and not self.done:
            try:
                self.pump()
            except Exception as e:
                self.fail(e)

    cdef void finish(self):
        self.stop()
        try:
            self.inbound.file_sent()
        except Exception as e:
            report_error(e, None)

    cdef void stop(self):
        self.done = True
        if self.watching:
            self.watching = False
            try:
                self.loop.remove_writer(self.sock_fd)
            except Exception:
                pass
        self.sock_fd = -1                 # the connection's, closed with it
        if self.file_fd >= 0:
            if self.handle is None:
                c_close(self.file_fd)
            self.file_fd = -1
        self.handle = None

    cdef void fail(self, object exc):
        # The client went away (EPIPE, reset) or the file is not what it was: the response cannot be completed.
        global _file_log
        if self.done:
            return
        self.stop()
        if not isinstance(exc, (BrokenPipeError, ConnectionResetError)):
            if _file_log is None:
                import logging
                _file_log = logging.getLogger('pipyx.files')
            _file_log.warning('sending %s: %s; closing the connection', self.chunk.path, exc)
        self.inbound.sender = None
        self.inbound.abort()

    def __dealloc__(self):
        if self.file_fd >= 0 and self.handle is None:
            c_close(self.file_fd)
