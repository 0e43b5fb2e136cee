# Declared here, defined in hpack.pxi.

# HPACK (RFC 7541): the header compression of HTTP/2, sans-I/O.

# Reads header blocks into lists of (name, value) bytes pairs, keeping the peer's dynamic table.
cdef class HpackDecoder:
    cdef list table                    # dynamic entries (name, value), oldest first
    cdef Py_ssize_t size               # their size as RFC 7541 counts it (each entry + 32)
    cdef Py_ssize_t max_size           # the table size the peer's last size update set
    cdef Py_ssize_t allowed_size       # the most the peer may set: our SETTINGS_HEADER_TABLE_SIZE
    cdef public Py_ssize_t max_header_list_size
    cdef public Py_ssize_t max_string  # a longer name or value is refused before it is decoded

    cpdef list decode(self, bytes block)
    cdef int add(self, bytes name, bytes value) except -1
    cdef int evict(self, Py_ssize_t room) except -1
    cdef tuple entry(self, Py_ssize_t index)


# Writes header blocks, keeping our dynamic table the way the peer's decoder will.
cdef class HpackEncoder:
    cdef list table                    # dynamic entries (name, value), oldest first
    cdef dict full_index               # (name, value) -> insertion number
    cdef dict name_index               # name -> insertion number of its newest entry
    cdef Py_ssize_t inserted           # entries inserted so far
    cdef Py_ssize_t size
    cdef public Py_ssize_t max_size
    cdef Py_ssize_t pending_update     # a table size update owed at the start of the next block, or -1
    cdef Py_ssize_t lowest_update      # the smallest size set since the last block, or -1

    cpdef bytes encode(self, object headers)
    cdef int encode_field(self, bytes name, bytes value, bint sensitive) except -1
    cdef Py_ssize_t dynamic_index(self, Py_ssize_t n)
    cdef int add(self, bytes name, bytes value) except -1
    cdef int evict(self, Py_ssize_t room) except -1


cdef int hpack_put_int(Py_ssize_t v, int prefix_bits, int first) except -1
cdef int hpack_put_string(bytes s) except -1
cdef Py_ssize_t huffman_length(const unsigned char* p, Py_ssize_t n) noexcept
