# Declared here, defined in compress.pxi.

# What the compress family shares: a message body, or the Data of a stream, passed through a content coder.
cdef class CodingFilter(Filter):
    cdef object coder                  # a ContentEncoder or ContentDecoder while coding, else None
    cdef bint in_message
    cdef bint decided                  # whether the current body (or stream) is coded is settled
    cdef bint held                     # waits to be flushed at the end of the read
    cdef bint failed                   # the stream was ended for an error; the rest is ignored

    cdef int code(self, Data d) except -1
    cdef int code_end(self) except -1
    cdef int emit(self, list out) except -1
    cdef int flush_held(self) except -1
    cdef int coding_failed(self, object exc) except -1
    cdef void shutdown(self)


# compress(method, level) and decompress(method, max_size): message bodies, and Data outside messages.
cdef class CompressFilter(CodingFilter):
    cdef int coding                    # the method given as a name; CODING_NONE with method set
    cdef object method                 # a callable giving the method per body or stream
    cdef tuple levels                  # by coding
    cdef bint decoding                 # decompress
    cdef int64_t max_size

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef int begin(self) except -1
    cdef bint start_coder(self) except -1


# What every clone of one compress_http shares.
cdef class CompressHttpOptions:
    cdef object offered                # tuple of coding names, best first, or a callable(MessageStart) giving them
    cdef tuple levels
    cdef frozenset types               # lower-case content types, 'text/*' for a whole top-level type
    cdef dict type_answers             # content-type value -> compressible?
    cdef int64_t min_size
    cdef object negotiator             # pipyx.files.compress.Negotiator
    cdef object accept_encoding        # None: the request's header; else a value or a callable giving one

    cdef bint compressible(self, object content_type)


# compress_http(...): compresses a response as its request's Accept-Encoding allows.
cdef class CompressHTTP(CodingFilter):
    cdef CompressHttpOptions opts
    cdef MessageStart waiting          # a start held until min_size bytes of body (its length unknown) or the end
    cdef list early                    # the body held with it
    cdef int64_t early_size
    cdef int chosen

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef int start_message(self, MessageStart evt) except -1
    cdef int begin(self, MessageStart evt, int coding) except -1
    cdef int release(self, bint compress) except -1
    cdef int flush_held(self) except -1


# decompress_http(enable, max_size): undoes a message's Content-Encoding.
cdef class DecompressHTTP(CodingFilter):
    cdef object enable
    cdef int64_t max_size

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef int start_message(self, MessageStart evt) except -1


cdef RequestHead request_of(Filter f)
