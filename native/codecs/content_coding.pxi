# Content codings, sans-I/O: gzip, deflate (zlib-wrapped, as HTTP means it) and brotli, fed chunk by chunk. zlib
# through Python's C module (ISA-L's deflate for the fast levels, see ISAL_LEVELS), brotli through the `brotli`
# package's C extension (faster than brotlicffi on the small chunks of a proxied body). A decoder stops at a limit on
# what it produces, in steps of DECODE_STEP bytes, so a small input that expands to gigabytes (a zip bomb) is refused
# after max_size bytes, not after the memory is gone.

import zlib as _zlib

try:
    from isal import isal_zlib as _isal_zlib
except ImportError:                    # a dependency; without it zlib does every level
    _isal_zlib = None

try:
    import brotli as _brotli
except ImportError:                    # a dependency; without it the br coding is refused where it is named
    _brotli = None

cdef Py_ssize_t DECODE_STEP = 64 * 1024
# The fast levels, where a proxy spends most on compression, go to ISA-L (the isal package): its level 1 is about 4x
# faster than zlib's level 1 on a JSON response of 16 KiB, within 2% of its size, and its level 3 stands in for
# zlib's level 2 the same way. From level 3 on, zlib's smaller output is what the level asks for.
cdef dict ISAL_LEVELS = {1: 1, 2: 3}
cdef int BROTLI_WINDOW = 18            # a 256 KiB window: a stream's compressor stays a few hundred KiB at most

CODINGS = {'gzip': CODING_GZIP, 'x-gzip': CODING_GZIP, 'deflate': CODING_DEFLATE, 'inflate': CODING_DEFLATE,
           'br': CODING_BR, 'brotli': CODING_BR}
CODING_NAMES = ('identity', 'gzip', 'deflate', 'br')


class ContentCodingError(ValueError):
    """A body could not be decompressed; reason is the StreamEnd error its stream ends with."""
    reason = 'ProtocolError'


class CorruptContent(ContentCodingError):
    """The compressed bytes are not valid for their coding, or stop before their end."""


class ContentTooLarge(ContentCodingError):
    """Decompressing would produce more than the limit allows (a zip bomb, or a limit set too low)."""
    reason = 'BufferOverflow'


cdef int coding_of(object name):
    # CODING_NONE for a name that is not one of ours (identity included).
    if name is None:
        return CODING_NONE
    c = CODINGS.get(name)
    if c is None and isinstance(name, str):
        c = CODINGS.get(name.strip().lower())
    return CODING_NONE if c is None else <int>c


cdef object _as_buffer(object chunk):
    # zlib and brotli take any contiguous buffer; a file span is read here (a body given as Data.file).
    if type(chunk) is FileChunk:
        return bytes(chunk)
    return chunk


cdef class ContentEncoder:
    """Compresses one body or stream: feed() chunks, flush() what a reader must see now, finish() at the end."""

    cdef int feed(self, object chunk, list out) except -1:
        cdef object b
        if self._obj is None:
            chunk = _as_buffer(chunk)
            if self.done:
                raise ValueError('more body than its Content-Length said')
            if self.whole_size == len(chunk):
                # The whole body in one piece: brotli sizes its tables to it, much smaller than a stream's.
                self.done = True
                out.append(_brotli.compress(chunk, quality=self.level, lgwin=BROTLI_WINDOW))
                return 0
            self._obj = _brotli.Compressor(quality=self.level, lgwin=BROTLI_WINDOW)
            self._step = self._obj.process
        b = self._step(_as_buffer(chunk))
        self.pending = True
        if b:
            out.append(b)
        return 0

    cdef int flush(self, list out) except -1:
        # A sync point: everything fed so far can be decompressed by the reader, at a cost of a few bytes.
        if not self.pending or self._obj is None:
            return 0
        self.pending = False
        b = self._obj.flush(_zlib.Z_SYNC_FLUSH) if self.coding != CODING_BR else self._obj.flush()
        if b:
            out.append(b)
        return 0

    cdef int finish(self, list out) except -1:
        if self._obj is None:
            if self.done:
                return 0
            self._obj = _brotli.Compressor(quality=self.level, lgwin=BROTLI_WINDOW)    # an empty body
        b = self._obj.flush() if self.coding != CODING_BR else self._obj.finish()
        self.pending = False
        self._obj = self._step = None
        if b:
            out.append(b)
        return 0


cdef ContentEncoder new_encoder(int coding, int level, int64_t whole_size=-1):
    cdef ContentEncoder e = ContentEncoder.__new__(ContentEncoder)
    e.coding = coding
    if coding == CODING_BR:
        if _brotli is None:
            raise ValueError('the br coding needs the brotli package')
        e.level = level
        e.whole_size = whole_size      # the compressor is made at the first chunk, when it is known whether it is all
    else:
        fast = ISAL_LEVELS.get(level) if _isal_zlib is not None else None
        if fast is not None:
            e._obj = _isal_zlib.compressobj(fast, _zlib.DEFLATED, 31 if coding == CODING_GZIP else 15)
        else:
            e._obj = _zlib.compressobj(level, _zlib.DEFLATED, 31 if coding == CODING_GZIP else 15)
        e._step = e._obj.compress
    return e


cdef class ContentDecoder:
    """Decompresses one body or stream: feed() chunks, finish() at the end. Raises CorruptContent or
    ContentTooLarge, after which it must not be fed again."""

    cdef int feed(self, object chunk, list out) except -1:
        if len(chunk) == 0:
            return 0
        chunk = _as_buffer(chunk)
        self.started = True
        if self.finished and self.coding != CODING_GZIP:
            raise CorruptContent('bytes after the end of the %s stream' % CODING_NAMES[self.coding])
        if self.coding == CODING_BR:
            return self.unbrotli(chunk, out)
        if self._obj is None:
            # deflate: a zlib header (RFC 1950) or, as some servers send, raw deflate; the first two bytes tell.
            if self._lead is not None:
                chunk = self._lead + bytes(chunk)
                self._lead = None
            if len(chunk) < 2:
                self._lead = bytes(chunk)
                return 0
            zlib_wrapped = (chunk[0] & 0x0f) == 8 and ((chunk[0] << 8) | chunk[1]) % 31 == 0
            self._obj = _zlib.decompressobj(15 if zlib_wrapped else -15)
        return self.inflate(chunk, out)

    cdef int inflate(self, object data, list out) except -1:
        cdef object d = self._obj
        cdef object piece
        while True:
            if self.finished:
                # gzip: another member follows (concatenated gzip files are one gzip stream).
                self._obj = d = _zlib.decompressobj(31)
                self.finished = False
            try:
                piece = d.decompress(data, DECODE_STEP)
            except _zlib.error as e:
                raise CorruptContent('%s: %s' % (CODING_NAMES[self.coding], e)) from None
            self.take(piece, out)
            if d.eof:
                self.finished = True
                data = d.unused_data
                if not data:
                    return 0
                if self.coding != CODING_GZIP:
                    raise CorruptContent('bytes after the end of the %s stream' % CODING_NAMES[self.coding])
                continue
            data = d.unconsumed_tail
            if not data and len(piece) < DECODE_STEP:
                return 0

    cdef int unbrotli(self, object data, list out) except -1:
        cdef object d = self._obj
        try:
            self.take(d.process(data, output_buffer_limit=DECODE_STEP), out)
            while not d.can_accept_more_data():
                self.take(d.process(b'', output_buffer_limit=DECODE_STEP), out)
            self.finished = d.is_finished()
        except _brotli.error as e:
            raise CorruptContent('br: %s' % (e,)) from None
        return 0

    cdef int take(self, object piece, list out) except -1:
        if not piece:
            return 0
        self.produced += len(piece)
        if self.max_size > 0 and self.produced > self.max_size:
            raise ContentTooLarge('%s: decompressed body over the limit of %d bytes (max_size)'
                                  % (CODING_NAMES[self.coding], self.max_size))
        out.append(piece)
        return 0

    cdef int finish(self, list out) except -1:
        # An empty body is a body without a coding to undo (a HEAD or 304 response keeps its Content-Encoding).
        if self.started and not self.finished:
            raise CorruptContent('%s: the compressed stream stops before its end' % CODING_NAMES[self.coding])
        self._obj = None
        return 0


cdef ContentDecoder new_decoder(int coding, int64_t max_size):
    cdef ContentDecoder d = ContentDecoder.__new__(ContentDecoder)
    d.coding = coding
    d.max_size = max_size
    if coding == CODING_BR:
        if _brotli is None:
            raise ValueError('the br coding needs the brotli package')
        d._obj = _brotli.Decompressor()
    elif coding == CODING_GZIP:
        d._obj = _zlib.decompressobj(31)
    # deflate: made at the first two bytes
    return d


cdef inline int feed_coder(object coder, object chunk, list out) except -1:
    if type(coder) is ContentEncoder:
        return (<ContentEncoder>coder).feed(chunk, out)
    return (<ContentDecoder>coder).feed(chunk, out)


cdef int code_chunks(object coder, Data d, list out) except -1:
    # Feeds a Data's chunks; small ones are joined first, so a body that arrived in many small pieces costs a few
    # calls into zlib or brotli.
    cdef Py_ssize_t i, n = d.chunk_count()
    cdef bytearray small = None
    cdef object c
    for i in range(n):
        c = d.chunk_at(i)
        if n > 1 and len(c) < JOIN_BELOW and type(c) is not FileChunk:
            if small is None:
                small = bytearray(c)
            else:
                small += c
            continue
        if small is not None:
            feed_coder(coder, small, out)
            small = None
        feed_coder(coder, c, out)
    if small is not None:
        feed_coder(coder, small, out)
    return 0
