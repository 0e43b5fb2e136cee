# Declared here, defined in sendfile.pxi.

cdef class FileSender:
    cdef Inbound inbound
    cdef FileChunk chunk
    cdef list backlog
    cdef int file_fd
    cdef int sock_fd                      # a dup of the connection's socket: the loop watches it for writability
    cdef int64_t pos
    cdef int64_t end
    cdef bint by_reading                  # TLS (or no socket): read pieces and write them through the transport
    cdef bint watching
    cdef bint done
    cdef FileHandle handle                # the chunk's open file, when it came with one: borrowed, not closed here
    cdef object loop

    cdef void start(self)
    cdef int pump(self) except -1
    cdef void resume(self)
    cdef void finish(self)
    cdef void stop(self)
    cdef void fail(self, object exc)
