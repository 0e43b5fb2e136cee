# Declared here, defined in content_coding.pxi.

# The content codings pipyx speaks (the HTTP names: gzip, deflate, br).
cdef enum:
    CODING_NONE = 0
    CODING_GZIP = 1
    CODING_DEFLATE = 2
    CODING_BR = 3


cdef int coding_of(object name)


# Compresses one body or stream.
cdef class ContentEncoder:
    cdef int coding
    cdef object _step                  # the compressor's compress/process, bound once
    cdef object _obj
    cdef bint pending                  # took input since its output was last flushed
    cdef int level
    cdef int64_t whole_size            # brotli: the body's size if known (-1 if not), to compress it in one call
    cdef bint done                     # compressed a whole body in one call: nothing more to come

    cdef int feed(self, object chunk, list out) except -1
    cdef int flush(self, list out) except -1
    cdef int finish(self, list out) except -1


cdef ContentEncoder new_encoder(int coding, int level, int64_t whole_size=*)


# Decompresses one body or stream, up to a limit.
cdef class ContentDecoder:
    cdef int coding
    cdef object _obj
    cdef int64_t max_size              # the most bytes it may produce; 0: no limit
    cdef int64_t produced
    cdef bint finished                 # the compressed stream came to its end
    cdef bint started                  # some compressed byte came
    cdef bytes _lead                   # deflate: the first byte, until the second tells the wrapper

    cdef int feed(self, object chunk, list out) except -1
    cdef int finish(self, list out) except -1
    cdef int take(self, object piece, list out) except -1
    cdef int inflate(self, object data, list out) except -1
    cdef int unbrotli(self, object data, list out) except -1


cdef ContentDecoder new_decoder(int coding, int64_t max_size)
cdef int code_chunks(object coder, Data d, list out) except -1
