# Declared here, defined in sendfile.pxi.

cdef class FileSender:
    cdef Inbound inbound
    cdef FileChunk chunk
    cdef list backlog
    cdef list head                        # the bytes to go before the span (the response head), or None
    cdef int file_fd
    cdef int sock_fd                      # the connection's sendfile_fd(), or -1 when reading
    cdef int64_t pos
    cdef int64_t end
    cdef bint by_reading                  # TLS (or no socket): read pieces and write them through the transport
    cdef bint watching
    cdef bint done
    cdef FileHandle handle                # the chunk's open file, when it came with one: borrowed, not closed here
    cdef object loop

    cdef void start(self)
    cdef int send_head(self) except -1
    cdef int pump(self) except -1
    cdef void resume(self)
    cdef void finish(self)
    cdef void stop(self)
    cdef void fail(self, object exc)
