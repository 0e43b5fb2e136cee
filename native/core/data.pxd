# Declared here, defined in data.pxi.

# Base of the four events that flow through pipelines.
cdef class Event:
    pass


# An open file descriptor shared by the responses that send from it.
cdef class FileHandle:
    cdef int fd


# A span of a file in place of its bytes, as a chunk of a Data (see Data.file).
cdef class FileChunk:
    cdef readonly str path
    cdef readonly int64_t offset
    cdef readonly int64_t length
    cdef FileHandle handle               # the file already open, or None: opened by path when sent


cdef FileChunk file_span(FileChunk c, int64_t start, int64_t length)
cdef bytearray join_small(list chunks, bytearray tail, object c)


# A chunk of a stream's bytes.
cdef class Data(Event):
    # Only data.pxi reads these; everyone else uses the accessors below, which compile to the same field reads.
    cdef object _one      # the only chunk, or the first when _more is set
    cdef list _more       # all chunks once there are two or more
    cdef Py_ssize_t _size

    cdef inline Py_ssize_t nbytes(self) noexcept:
        return self._size

    cdef inline Py_ssize_t chunk_count(self) noexcept:
        if self._more is not None:
            return len(self._more)
        return 0 if self._one is None else 1

    cdef inline object chunk_at(self, Py_ssize_t i):
        # i < chunk_count()
        return self._one if self._more is None else self._more[i]

    cdef inline list shared_chunks(self):
        # With two chunks or more: the list itself, for writelines() and loops that only read it.
        return self._more

    @staticmethod
    cdef Data wrap(object chunk)
    @staticmethod
    cdef Data of_chunks(list chunks)
    cdef void append_chunk(self, object chunk)
    cdef void append_data(self, Data other)
    cpdef list chunks(self)
    cpdef Data shift(self, Py_ssize_t n)
    cpdef bytes to_bytes(self)
