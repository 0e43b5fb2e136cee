# split: a body cut into messages at every occurrence of a separator, which is dropped. Bytes stream through as they
# come: only the beginning of a separator that a chunk ends with is held back, never more than the separator's length.
# Matching is Knuth-Morris-Pratt over each chunk in C, with memchr skipping to the separator's first byte.

from libc.stdlib cimport malloc, free

MAX_SEPARATOR_SIZE = 1024


cdef class SplitSeparator:
    """A separator and its Knuth-Morris-Pratt table."""

    def __dealloc__(self):
        if self.lps != NULL:
            free(self.lps)
            self.lps = NULL

    @staticmethod
    cdef SplitSeparator of(object value):
        cdef SplitSeparator s
        cdef const unsigned char* w
        cdef int i = 0, j = -1, m
        if isinstance(value, Data):
            b = (<Data>value).to_bytes()
        elif isinstance(value, str):
            b = (<str>value).encode('utf-8')
        elif isinstance(value, (bytes, bytearray, memoryview)):
            b = bytes(value)
        else:
            raise TypeError('split() takes a separator as bytes, str or Data, or a callable returning one; not %s'
                            % type(value).__name__)
        if len(b) == 0:
            raise ValueError('split() needs a separator of at least one byte')
        if len(b) > MAX_SEPARATOR_SIZE:
            raise ValueError('split(): a separator over %d bytes is not supported' % MAX_SEPARATOR_SIZE)
        s = SplitSeparator.__new__(SplitSeparator)
        s.pattern = b
        m = len(b)
        s.lps = <int*>malloc((m + 1) * sizeof(int))
        if s.lps == NULL:
            raise MemoryError()
        w = <const unsigned char*>PyBytes_AS_STRING(b)
        s.lps[0] = -1
        while i < m:
            while j >= 0 and w[i] != w[j]:
                j = s.lps[j]
            i += 1
            j += 1
            s.lps[i] = j
        return s


cdef class SplitFilter(Filter):
    """split(separator): each input message's body becomes a message per piece between separators; the separator
    itself is dropped. The input's MessageStart and MessageEnd go (the pieces are the messages); a StreamEnd
    passes."""

    def __init__(self, separator):
        self.separator = separator
        if not callable(separator):
            self.sep = SplitSeparator.of(separator)

    cdef Filter clone(self):
        cdef SplitFilter f = SplitFilter.__new__(SplitFilter)
        f.separator = self.separator
        f.sep = self.sep
        return f

    def describe(self):
        return 'split(%r)' % (self.sep.pattern if self.sep is not None else '<callable>',)

    cdef int on_event(self, Event evt) except -1:
        cdef Data d
        cdef Py_ssize_t i
        if self.failed:
            return 0
        if isinstance(evt, Data):
            if not self.splitting:
                if callable(self.separator):
                    try:
                        self.sep = SplitSeparator.of(self.call0(self.separator))
                    except Exception as e:
                        self.failed = True
                        return self.fail_stream(e)
                self.splitting = True
                self.held = 0
            d = <Data>evt
            for i in range(d.chunk_count()):
                self.feed(d.chunk_at(i))
            return 0
        if isinstance(evt, MessageEnd):
            if self.splitting:
                return self.finish()
            return 0
        if isinstance(evt, StreamEnd):
            if self.splitting:
                self.finish()
            return self.output(evt)
        return 0

    cdef int feed(self, object chunk) except -1:
        # Positions are counted in the bytes held from before (the separator's first `h` bytes) followed by this
        # chunk; `start` is the first of them not yet output.
        cdef bytes b = chunk if PyBytes_Check(chunk) else bytes(chunk)
        cdef SplitSeparator sep = self.sep
        cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(b)
        cdef const unsigned char* w = <const unsigned char*>PyBytes_AS_STRING(sep.pattern)
        cdef const int* lps = sep.lps
        cdef Py_ssize_t n = PyBytes_GET_SIZE(b), m = PyBytes_GET_SIZE(sep.pattern)
        cdef Py_ssize_t h = self.held, start = 0, i = 0
        cdef const unsigned char* q
        cdef int j = self.held
        cdef unsigned char c
        while i < n:
            if j == 0:
                q = <const unsigned char*>memchr(p + i, w[0], n - i)
                if q == NULL:
                    break
                i = q - p
            c = p[i]
            while j >= 0 and c != w[j]:
                j = lps[j]
            j += 1
            i += 1
            if j == m:
                self.emit(b, h, start, h + i - m)
                self.output(new_end())
                self.started = False
                start = h + i
                j = 0
        self.emit(b, h, start, h + n - j)
        self.held = j
        return 0

    cdef int emit(self, bytes chunk, Py_ssize_t held, Py_ssize_t a, Py_ssize_t b) except -1:
        # Outputs positions [a, b) of (held separator bytes + chunk) as a piece of the current message.
        cdef Py_ssize_t n = PyBytes_GET_SIZE(chunk)
        cdef Data d
        if not self.started:
            self.started = True
            self.output(new_start(None))
        if b <= a:
            return 0
        d = Data.__new__(Data)
        if a < held:
            d.append_chunk(self.sep.pattern[a:min(b, held)])
        if b > held:
            a = max(a, held) - held
            b -= held
            if a == 0 and b == n:
                d.append_chunk(chunk)
            elif b - a < JOIN_BELOW:
                d.append_chunk(chunk[a:b])
            else:
                d.append_chunk(memoryview(chunk)[a:b])
        return self.output(d)

    cdef int finish(self) except -1:
        # The input message is over: what is left, with any separator beginning held back, is the last piece.
        cdef Py_ssize_t h = self.held
        self.splitting = False
        self.held = 0
        if not self.started:
            self.started = True
            self.output(new_start(None))
        if h:
            self.output(Data.wrap(self.sep.pattern[:h]))
        self.started = False
        self.output(new_end())
        if callable(self.separator):
            self.sep = None
        return 0
