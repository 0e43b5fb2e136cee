# Declared here, defined in dns_codec.pxi.

cdef enum DnsTransport:
    DNS_AUTO = 0                         # datagrams if messages come in, a TCP stream if bare bytes do
    DNS_UDP = 1
    DNS_TCP = 2


# decode_dns: datagrams (one message each) or a TCP stream (2-byte length prefixes) in, DnsMessage heads out.
cdef class DecodeDNS(Filter):
    cdef int transport
    cdef list body                       # chunks of the datagram being received, None between datagrams
    cdef bytearray buf                   # TCP bytes short of a whole frame
    cdef bint failed

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef int feed_stream(self, object chunk) except -1
    cdef int message(self, object wire, bint tcp) except -1


# encode_dns: messages whose head is a DnsMessage (or a dict of its fields, or None with wire bytes as the body) out
# as datagrams or length-prefixed TCP bytes.
cdef class EncodeDNS(Filter):
    cdef int transport
    cdef object head
    cdef list body
    cdef bint failed

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
