# Data: a chunked byte buffer. Chunks are kept as the bytes objects (or memoryviews) they arrived in, so pushing,
# shifting and passing data along never copies; only to_bytes() of a multi-chunk buffer joins them.

cdef class Event:
    """Base of the four events that flow through pipelines."""
    pass


cdef inline object _as_chunk(object x):
    if PyBytes_Check(x):
        return x
    if PyUnicode_Check(x):
        return (<str>x).encode('utf-8')
    if isinstance(x, (bytearray, memoryview)):
        return bytes(x)
    raise TypeError('Data accepts bytes, str, bytearray, memoryview or Data, not %s' % type(x).__name__)


from posix.unistd cimport close as _close_fd


cdef class FileHandle:
    """An open file descriptor shared by the responses that send from it; closed when the last one lets it go."""

    def __cinit__(self):
        self.fd = -1

    def __dealloc__(self):
        if self.fd >= 0:
            _close_fd(self.fd)
            self.fd = -1


cdef class FileChunk:
    """A span of a file in place of its bytes, as a chunk of a Data (see Data.file)."""

    def __len__(self):
        return self.length

    def __bytes__(self):
        with open(self.path, 'rb') as f:
            f.seek(self.offset)
            b = f.read(self.length)
        if len(b) != self.length:
            raise OSError('%s is shorter than it was: %d bytes at %d expected' % (self.path, self.length, self.offset))
        return b

    def __repr__(self):
        return 'FileChunk(%r, %d, %d)' % (self.path, self.offset, self.length)


cdef Py_ssize_t JOIN_BELOW = 4096


cdef bytearray join_small(list chunks, bytearray tail, object c):
    # Appends c to chunks, but a piece under JOIN_BELOW bytes goes into `tail`, a bytearray ending chunks: bytes held
    # for later are then a few buffers however finely they arrived. Returns the tail for the next piece.
    if len(c) >= JOIN_BELOW:
        chunks.append(c)
        return None
    if tail is None:
        tail = bytearray()
        chunks.append(tail)
    tail += c
    return tail


cdef FileChunk file_span(FileChunk c, int64_t start, int64_t length):
    cdef FileChunk f = FileChunk.__new__(FileChunk)
    f.path = c.path
    f.offset = c.offset + start
    f.length = length
    f.handle = c.handle
    return f


# Not tracked by the garbage collector: a Data holds only chunks (bytes, views, file spans), which never point back
# at it, so it cannot be part of a cycle; five of them go by per proxied request.
@cython.no_gc
cdef class Data(Event):
    """A chunk of a stream's bytes: push, shift and slice without copying; to_bytes()/to_str() to read it."""


    def __init__(self, content=None):
        self._one = None
        self._more = None
        self._size = 0
        if content is not None:
            self.push(content)

    @staticmethod
    cdef Data wrap(object chunk):
        # The fast way in from a socket: one bytes object, no checks.
        cdef Data d = Data.__new__(Data)
        d._one = chunk
        d._size = len(chunk)
        return d

    @staticmethod
    cdef Data of_chunks(list chunks):
        # The list becomes the Data's own: the caller does not touch it again.
        cdef Data d = Data.__new__(Data)
        cdef Py_ssize_t n = len(chunks)
        if n == 1:
            d._one = chunks[0]
            d._size = len(d._one)
        elif n > 1:
            d._one = chunks[0]
            d._more = chunks
            d._size = sum([len(c) for c in chunks])
        return d

    cdef void append_chunk(self, object chunk):
        cdef Py_ssize_t n = len(chunk)
        if n == 0:
            return
        if self._one is None:
            self._one = chunk
        elif self._more is None:
            self._more = [self._one, chunk]
        else:
            self._more.append(chunk)
        self._size += n

    cdef void append_data(self, Data other):
        if other._more is not None:
            for c in tuple(other._more):      # a copy: other may be self
                self.append_chunk(c)
        elif other._one is not None:
            self.append_chunk(other._one)

    def push(self, content):
        """Append bytes, str (as UTF-8), or another Data's chunks. Returns self."""
        if isinstance(content, Data):
            self.append_data(<Data>content)
        else:
            self.append_chunk(_as_chunk(content))
        return self

    cpdef list chunks(self):
        """The chunks, in order, as bytes-like objects."""
        if self._more is not None:
            return list(self._more)
        if self._one is not None:
            return [self._one]
        return []

    cpdef Data shift(self, Py_ssize_t n):
        """Remove the first n bytes and return them as a new Data."""
        cdef Data head = Data.__new__(Data)
        cdef list chunks
        cdef Py_ssize_t i, size
        if n <= 0:
            return head
        if n >= self._size:
            head._one, head._more, head._size = self._one, self._more, self._size
            self._one = None
            self._more = None
            self._size = 0
            return head
        chunks = self.chunks()
        i = 0
        while n > 0:
            c = chunks[i]
            size = len(c)
            if size <= n:
                head.append_chunk(c)
                n -= size
                i += 1
            else:
                mv = memoryview(c)
                head.append_chunk(mv[:n])
                chunks[i] = mv[n:]
                n = 0
        rest = chunks[i:]
        self._one = None
        self._more = None
        self._size = 0
        for c in rest:
            self.append_chunk(c)
        return head

    def slice(self, Py_ssize_t start, Py_ssize_t end=-1):
        """A new Data with bytes [start, end) of this one, sharing its chunks."""
        if end < 0 or end > self._size:
            end = self._size
        cdef Data out = Data.__new__(Data)
        cdef Py_ssize_t pos = 0, size, a, b
        if start >= end:
            return out
        for c in self.chunks():
            size = len(c)
            if pos + size > start and pos < end:
                a = start - pos if start > pos else 0
                b = end - pos if end - pos < size else size
                if a == 0 and b == size:
                    out.append_chunk(c)
                elif type(c) is FileChunk:
                    out.append_chunk(file_span(<FileChunk>c, a, b - a))
                else:
                    out.append_chunk(memoryview(c)[a:b])
            pos += size
            if pos >= end:
                break
        return out

    @staticmethod
    def file(path, offset=0, length=None):
        """A Data standing for `length` bytes of the file at `path` from `offset` (to its end when length is None),
        not read: a server sends it straight from the file (sendfile); anything that reads its bytes reads the
        file then."""
        cdef FileChunk f = FileChunk.__new__(FileChunk)
        cdef Data d = Data.__new__(Data)
        import os
        f.path = os.fspath(path)
        f.offset = offset
        f.length = os.stat(f.path).st_size - offset if length is None else length
        if f.offset < 0 or f.length < 0:
            raise ValueError('Data.file(%r, %r, %r): a negative offset or length' % (path, offset, length))
        if f.length:
            d._one = f
            d._size = f.length
        return d

    cpdef bytes to_bytes(self):
        """All the bytes, joined (no copy when there is one bytes chunk)."""
        if self._more is not None:
            try:
                return b''.join(self._more)
            except TypeError:
                return b''.join([bytes(c) for c in self._more])
        if self._one is None:
            return b''
        if PyBytes_Check(self._one):
            return <bytes>self._one
        return bytes(self._one)

    def to_str(self, encoding='utf-8', errors='strict'):
        """The bytes decoded as text (UTF-8 by default)."""
        return self.to_bytes().decode(encoding, errors)

    @property
    def size(self):
        return self._size

    def __len__(self):
        return self._size

    def __bytes__(self):
        return self.to_bytes()

    def __bool__(self):
        return self._size > 0

    def __eq__(self, other):
        if isinstance(other, Data):
            return self.to_bytes() == (<Data>other).to_bytes()
        if isinstance(other, (bytes, bytearray)):
            return self.to_bytes() == other
        return NotImplemented

    def __hash__(self):
        return hash(self.to_bytes())

    def __repr__(self):
        b = self.to_bytes()
        return 'Data(%r%s)' % (b[:64], '...' if len(b) > 64 else '')
