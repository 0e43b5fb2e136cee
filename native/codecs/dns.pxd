# Declared here, defined in dns.pxi.

# Where one resource record lies in a message's wire bytes (found by the scan, read into objects only on demand).
cdef struct DnsRR:
    int name                             # offset of the owner name
    int type
    int klass
    int ttl                              # offset of the TTL field
    int rdlen
    int rdata                            # offset of the rdata


# A DNS message over its wire bytes: header and questions scanned eagerly, records made objects when first read.
cdef class DnsMessage:
    cdef bytes raw                       # the bytes it was parsed from (None when built by a script)
    cdef public bint tcp                 # it came over TCP (set by decode_dns)
    cdef int _id
    cdef int _flags
    cdef int counts[4]                   # qd, an, ns, ar as the header gave them
    cdef int qend                        # the end of the question section
    cdef int q1type                      # of the first question (-1: none)
    cdef int q1class
    cdef DnsRR* rrs                      # every record of answer, authority and additional, in order
    cdef int nrr
    cdef int opt                         # index of the OPT record in rrs, or -1
    cdef list _questions                 # DnsQuestion objects, made on first read (or by a script)
    cdef list _sections                  # [answers, authority, additional], made on first read
    cdef object _edns                    # DnsEdns, made on first read; False: read, and there is none
    cdef tuple _snapshot                 # the records as parsed, to know whether a script changed them

    cdef int scan(self) except -1
    cdef list read_questions(self)
    cdef void snap(self, int i, object state)
    cdef list read_sections(self)
    cdef tuple model_state(self)
    cdef bint model_changed(self)
    cdef bytes encode_model(self)


cdef class DnsQuestion:
    cdef public str name
    cdef public int type
    cdef public int klass


cdef class DnsRecord:
    cdef public str name
    cdef public int type
    cdef public int klass
    cdef public long long ttl
    cdef public bytes rdata              # with every name in it written out uncompressed


cdef class DnsEdns:
    cdef public int payload_size
    cdef public int ext_rcode
    cdef public int version
    cdef public bint do
    cdef public list options             # [(code, bytes), ...]

    cdef tuple state(self)


cdef int dns_name_end(const unsigned char* p, int n, int off) except -1
cdef str dns_read_name(const unsigned char* p, int n, int off)
cdef bytes dns_name_wire(str name)
