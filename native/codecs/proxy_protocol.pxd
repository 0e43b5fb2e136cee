# Declared here, defined in proxy_protocol.pxi.

# What a PROXY protocol header says (version 1 or 2).
cdef class ProxyHeader:
    cdef public int version
    cdef public str command              # 'PROXY', or 'LOCAL' (v2: the proxy's own connection, e.g. a health check)
    cdef public str transport            # 'TCP4', 'TCP6', 'UDP4', 'UDP6', 'UNIX', 'UNIX_DGRAM' or 'UNKNOWN'
    cdef public object source_address
    cdef public object source_port
    cdef public object destination_address
    cdef public object destination_port
    cdef public dict tlvs                # v2: type -> value bytes (a type sent twice keeps its last value)


# Reads one header from the start of a stream, in pieces split anywhere; what follows it is kept in rest.
cdef class ProxyHeaderParser:
    cdef bytearray buf
    cdef int state                       # 0 reading, 1 done, -1 refused
    cdef public Py_ssize_t max_size
    cdef public ProxyHeader header
    cdef public str error
    cdef public bytes rest

    cpdef int feed(self, bytes data)
    cdef int fail(self, str why)
    cdef int parse_v1(self)
    cdef int parse_v2(self)


cpdef bytes encode_proxy_header(int version, object source, object destination, str transport=*, object tlvs=*)
