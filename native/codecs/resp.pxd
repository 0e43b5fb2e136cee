# Declared here, defined in resp.pxi.

cdef enum:
    RESP_MAX_DEPTH_LIMIT = 128         # the most max_depth may be: the size of the reader's stack
    RESP_INLINE = 1                    # RespHead._kind of an inline (telnet-style) command

# The limits of one RESP reader; shared by every stream of one decode_resp filter.
cdef class RespLimits:
    cdef public Py_ssize_t max_bulk_length
    cdef public Py_ssize_t max_array_length
    cdef public int max_depth
    cdef public Py_ssize_t max_inline_length
    cdef public Py_ssize_t max_message_size
    cdef public bint inline


# One RESP frame as a message head: its wire bytes, and what a script reads of it, parsed when first read.
cdef class RespHead:
    cdef bytes _raw                     # the frame as it came, an attribute prefix included
    cdef int _kind                      # the type byte of the value (after any attribute), or RESP_INLINE
    cdef bint _changed                  # a script set command, args or value: the encoder writes them, not _raw
    cdef bint _parsed                   # _value (and _attributes) are known
    cdef object _value
    cdef object _attributes
    cdef object _command                # str, or None: not a command; known once _command_known
    cdef bint _command_known
    cdef list _args

    cdef int parse_value(self) except -1
    cdef int parse_command(self) except -1


# The sans-I/O reader: bytes in, whole frames out as RespHeads. It keeps where it stopped inside a frame, so a frame
# split anywhere is scanned once, not again from its start at each piece.
cdef class RespParser:
    cdef RespLimits limits
    cdef bytes buf                      # the bytes being scanned; frames begin at start
    cdef Py_ssize_t start
    cdef Py_ssize_t pos                 # where scanning resumes (the element that was incomplete)
    cdef list more                      # pieces that came after buf, joined once scanning can go on
    cdef Py_ssize_t more_bytes
    cdef Py_ssize_t need                # the length buf must reach (in buf's offsets) before scanning again
    cdef int depth                      # open aggregates of the frame being scanned
    cdef int64_t counts[RESP_MAX_DEPTH_LIMIT]      # elements each still awaits
    cdef bint attrs[RESP_MAX_DEPTH_LIMIT]          # whether each is an attribute (a prefix, not an element)
    cdef int kind                       # the type byte of the frame's value, once known
    cdef bint after_attribute           # the frame's attribute is complete: its value follows
    cdef str error                      # what was wrong, once the input broke the protocol

    cdef int feed_chunk(self, object chunk, list out) except -1
    cdef int scan(self, list out) except -1
    cdef int scan_frame(self) except -2
    cdef bint pending(self)
    cdef int fail(self, str message) except -1


cdef int resp_encode_value(object v, bytearray out, int depth) except -1
cdef bytes resp_encode_command(str name, list args)
