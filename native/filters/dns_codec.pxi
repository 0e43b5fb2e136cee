# decode_dns and encode_dns: the DNS codec (codecs/dns.pxi) between a stream's bytes and DnsMessage heads. Over UDP a
# datagram is a message (the listener and connect(protocol='udp') keep them apart); over TCP each message is preceded
# by its length in two bytes (RFC 1035 4.2.2). Malformed input costs the message it came in, never the process, and
# is logged once per ten seconds at most, however much of it comes.

cdef double DNS_WARN_EVERY = 10.0
cdef double _dns_warned_at = -1e9
cdef Py_ssize_t _dns_dropped = 0


cdef void dns_bad_input(object location, str what):
    global _dns_warned_at, _dns_dropped
    cdef double t = now()
    _dns_dropped += 1
    if t - _dns_warned_at >= DNS_WARN_EVERY:
        _dns_warned_at = t
        log_warning('pipyx.dns', 'decode_dns%s: %s; dropped (%d malformed so far)' % (
            where(location), what, _dns_dropped))


cdef bint dns_stream_is_tcp(Filter f, int transport):
    if transport != DNS_AUTO:
        return transport == DNS_TCP
    return f.pipeline is not None and f.pipeline.context.protocol().get('dns.tcp', False)


cdef class DecodeDNS(Filter):
    """decode_dns(): each DNS message of the stream out as MessageStart(DnsMessage), MessageEnd."""

    def __init__(self, transport='auto'):
        self.transport = {'auto': DNS_AUTO, 'udp': DNS_UDP, 'tcp': DNS_TCP}[transport]

    cdef Filter clone(self):
        cdef DecodeDNS f = DecodeDNS.__new__(DecodeDNS)
        f.transport = self.transport
        return f

    def describe(self):
        return 'decode_dns'

    cdef int on_event(self, Event evt) except -1:
        cdef Data d
        if self.failed:
            return 0
        if isinstance(evt, Data):
            d = <Data>evt
            if self.body is not None:
                for i in range(d.chunk_count()):
                    self.body.append(d.chunk_at(i))
                return 0
            if self.transport == DNS_AUTO and self.pipeline is not None:
                self.pipeline.context.protocol()['dns.tcp'] = True
            for i in range(d.chunk_count()):
                self.feed_stream(d.chunk_at(i))
                if self.failed:
                    break
            return 0
        if isinstance(evt, MessageStart):
            if self.transport != DNS_TCP:
                self.body = []
            return 0
        if isinstance(evt, MessageEnd):
            if self.body is not None:
                body, self.body = self.body, None
                return self.message(body[0] if len(body) == 1 and type(body[0]) is bytes else b''.join(body), False)
            return 0
        if isinstance(evt, StreamEnd):
            self.body = None
            self.buf = None
            return self.output(evt)
        return 0

    cdef int feed_stream(self, object chunk) except -1:
        cdef Py_ssize_t pos = 0, n, size
        cdef const unsigned char* p
        if self.buf is not None and len(self.buf):
            self.buf += chunk
            data = bytes(self.buf)
            self.buf = None
        else:
            data = chunk if type(chunk) is bytes else bytes(chunk)
        p = data
        n = len(data)
        while n - pos >= 2:
            size = (p[pos] << 8) | p[pos + 1]
            if size == 0:
                # Nothing can follow an empty frame sensibly: the stream is not DNS, or is broken.
                self.failed = True
                dns_bad_input(self.location, 'a zero-length TCP frame')
                return self.output(StreamEnd('ProtocolError'))
            if n - pos - 2 < size:
                break
            self.message(data[pos + 2:pos + 2 + size], True)
            pos += 2 + size
        if pos < n:
            self.buf = bytearray(data[pos:])
        return 0

    cdef int message(self, object wire, bint tcp) except -1:
        cdef DnsMessage m
        try:
            m = DnsMessage(wire)
        except DnsError as e:
            dns_bad_input(self.location, '%s (%d bytes%s)' % (e, len(wire), ' over TCP' if tcp else ''))
            return 0
        m.tcp = tcp
        self.output(new_start(m))
        return self.output(new_end())


cdef class EncodeDNS(Filter):
    """encode_dns(): each message out as DNS wire bytes, a datagram or a length-prefixed TCP frame."""

    def __init__(self, transport='auto'):
        self.transport = {'auto': DNS_AUTO, 'udp': DNS_UDP, 'tcp': DNS_TCP}[transport]

    cdef Filter clone(self):
        cdef EncodeDNS f = EncodeDNS.__new__(EncodeDNS)
        f.transport = self.transport
        return f

    def describe(self):
        return 'encode_dns'

    cdef int on_event(self, Event evt) except -1:
        cdef Data d
        if self.failed:
            return 0
        if isinstance(evt, MessageStart):
            self.head = (<MessageStart>evt).head
            self.body = []
            return 0
        if isinstance(evt, Data):
            if self.body is None:
                return self.output(evt)
            d = <Data>evt
            for i in range(d.chunk_count()):
                self.body.append(d.chunk_at(i))
            return 0
        if isinstance(evt, MessageEnd):
            if self.body is None:
                return 0
            head, self.head = self.head, None
            body, self.body = self.body, None
            try:
                if isinstance(head, DnsMessage):
                    wire = (<DnsMessage>head).to_bytes()
                elif isinstance(head, dict):
                    wire = DnsMessage(**head).to_bytes()
                elif head is None:
                    wire = b''.join(bytes(c) for c in body)
                else:
                    raise TypeError('encode_dns: a message head is a DnsMessage, a dict of its fields or None '
                                    '(the body is then the wire bytes), not %s' % type(head).__name__)
            except Exception as e:
                self.failed = True
                return self.fail_stream(e)
            if not wire:
                return 0
            if dns_stream_is_tcp(self, self.transport):
                if len(wire) > 65535:
                    log_warning('pipyx.dns', 'encode_dns%s: a message of %d bytes, over 65535: not sent' % (
                        where(self.location), len(wire)))
                    return 0
                return self.output(Data.wrap(len(wire).to_bytes(2, 'big') + wire))
            self.output(new_start(None))
            self.output(Data.wrap(wire))
            return self.output(new_end())
        if isinstance(evt, StreamEnd):
            self.body = None
            return self.output(evt)
        return 0
