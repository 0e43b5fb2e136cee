# DNS messages (RFC 1035, EDNS0 of RFC 6891, client subnet of RFC 7871), sans-I/O. Parsing a message scans it once
# in C: the header, the questions and where every record lies, checking every name (labels of 63 bytes at most,
# names of 255, compression pointers that only point back, so a loop cannot be made) and every count against the
# bytes there are. Objects for questions and records are made only when a script reads them, and a message nobody
# changed is written back as the bytes it came as. The cache's path (dns_reanswer) works on wire bytes alone.

from libc.stdlib cimport malloc, free

import socket as _dns_socket


class DnsError(ValueError):
    """A DNS message that cannot be read: what is wrong with it, and where."""


DNS_TYPES = {
    'A': 1, 'NS': 2, 'CNAME': 5, 'SOA': 6, 'PTR': 12, 'HINFO': 13, 'MX': 15, 'TXT': 16, 'AAAA': 28, 'SRV': 33,
    'NAPTR': 35, 'DNAME': 39, 'OPT': 41, 'DS': 43, 'RRSIG': 46, 'NSEC': 47, 'DNSKEY': 48, 'SVCB': 64, 'HTTPS': 65,
    'ANY': 255, 'CAA': 257,
}
DNS_TYPE_NAMES = {v: k for k, v in DNS_TYPES.items()}
DNS_RCODES = {'NOERROR': 0, 'FORMERR': 1, 'SERVFAIL': 2, 'NXDOMAIN': 3, 'NOTIMP': 4, 'REFUSED': 5}

cdef enum:
    DNS_HEADER = 12
    DNS_OPT = 41
    DNS_SOA = 6
    DNS_CLIENT_SUBNET = 8

cdef object _UNREAD = object()          # (a part of the model not read yet: it cannot have changed)


cdef inline int rd16(const unsigned char* p):
    return (p[0] << 8) | p[1]


cdef inline unsigned int rd32(const unsigned char* p):
    return (<unsigned int>p[0] << 24) | (<unsigned int>p[1] << 16) | (<unsigned int>p[2] << 8) | p[3]


cdef int dns_name_walk(const unsigned char* p, int n, int off, unsigned char* out, bint lower, int* end) except -1:
    # Follows the name at off to its end, checking it; writes it uncompressed into out (256 bytes) when out is not
    # NULL, and returns its length there; *end is where the name ends in place (after its first pointer).
    cdef int pos = off, floor = off, total = 1, c, target, i
    end[0] = -1
    while True:
        if pos >= n:
            raise DnsError('a name at byte %d runs past the end of the message' % off)
        c = p[pos]
        if c == 0:
            if end[0] < 0:
                end[0] = pos + 1
            if out != NULL:
                out[total - 1] = 0
            return total
        if c & 0xC0 == 0xC0:
            if pos + 1 >= n:
                raise DnsError('a name at byte %d runs past the end of the message' % off)
            target = ((c & 0x3F) << 8) | p[pos + 1]
            if end[0] < 0:
                end[0] = pos + 2
            if target >= floor:
                raise DnsError('a compression pointer at byte %d points forward (a loop)' % pos)
            floor = pos = target
            continue
        if c & 0xC0:
            raise DnsError('a label at byte %d is over 63 bytes' % pos)
        if total + c + 1 > 255:
            raise DnsError('a name at byte %d is over 255 bytes' % off)
        if pos + 1 + c > n:
            raise DnsError('a name at byte %d runs past the end of the message' % off)
        if out != NULL:
            out[total - 1] = c
            for i in range(c):
                out[total + i] = p[pos + 1 + i] | 0x20 if lower and 65 <= p[pos + 1 + i] <= 90 else p[pos + 1 + i]
        total += c + 1
        pos += c + 1


cdef int dns_name_end(const unsigned char* p, int n, int off) except -1:
    cdef int end
    dns_name_walk(p, n, off, NULL, False, &end)
    return end


cdef str wire_to_text(const unsigned char* w):
    cdef list labels = []
    cdef int i = 0
    while w[i]:
        labels.append((<bytes>w[i + 1:i + 1 + w[i]]).decode('latin-1'))
        i += w[i] + 1
    return '.'.join(labels)


cdef str dns_read_name(const unsigned char* p, int n, int off):
    cdef unsigned char buf[256]
    cdef int end
    dns_name_walk(p, n, off, buf, False, &end)
    return wire_to_text(buf)


cdef bytes dns_name_wire(str name):
    cdef bytearray out = bytearray()
    name = name.rstrip('.') if name != '.' else ''
    if name:
        for label in name.split('.'):
            b = label.encode('latin-1')
            if not b or len(b) > 63:
                raise DnsError('%r: a label is empty or over 63 bytes' % name)
            out.append(len(b))
            out += b
    out.append(0)
    if len(out) > 255:
        raise DnsError('%r: a name over 255 bytes' % name)
    return bytes(out)


cdef bytes expand_rdata(const unsigned char* p, int n, DnsRR* rr):
    # The rdata with its names written out, so that it means the same outside this message.
    cdef int t = rr.type, start = rr.rdata, stop = rr.rdata + rr.rdlen, e1, e2, k
    cdef unsigned char buf[256]
    if t == 5 or t == 2 or t == 12 or t == 39:
        e1 = dns_name_walk(p, stop, start, buf, False, &e2)
        return <bytes>buf[:e1]
    if t == 15 or t == 33:
        k = 2 if t == 15 else 6
        if rr.rdlen < k + 1:
            raise DnsError('a %s record with %d bytes of rdata' % (DNS_TYPE_NAMES[t], rr.rdlen))
        e1 = dns_name_walk(p, stop, start + k, buf, False, &e2)
        return <bytes>p[start:start + k] + <bytes>buf[:e1]
    if t == DNS_SOA:
        e1 = dns_name_walk(p, stop, start, buf, False, &e2)
        first = <bytes>buf[:e1]
        e1 = dns_name_walk(p, stop, e2, buf, False, &e2)
        if e2 + 20 != stop:
            raise DnsError('an SOA record with %d bytes of rdata' % rr.rdlen)
        return first + <bytes>buf[:e1] + <bytes>p[e2:stop]
    return <bytes>p[start:stop]


cdef int type_code(object t) except -1:
    if isinstance(t, str):
        code = DNS_TYPES.get(t.upper())
        if code is None:
            if t.upper().startswith('TYPE') and t[4:].isdigit():
                return int(t[4:])
            raise DnsError('unknown record type %r' % t)
        return code
    return t


cdef class DnsQuestion:
    """A question: name (without the final dot), type (an int: 1 for A...; type_name gives 'A'), class_ (1: IN)."""

    def __init__(self, name, type='A', class_=1):
        self.name = name.rstrip('.') if name != '.' else ''
        self.type = type_code(type)
        self.klass = class_

    @property
    def class_(self):
        return self.klass

    @class_.setter
    def class_(self, v):
        self.klass = v

    @property
    def type_name(self):
        return DNS_TYPE_NAMES.get(self.type, 'TYPE%d' % self.type)

    def __repr__(self):
        return 'DnsQuestion(%r, %r)' % (self.name, self.type_name)


cdef class DnsRecord:
    """A resource record: name, type (int), class_, ttl, rdata (bytes, names in it uncompressed) and data, the
    rdata readable: A/AAAA an address str, CNAME/NS/PTR/DNAME a name, MX (preference, exchange), SRV (priority,
    weight, port, target), SOA (mname, rname, serial, refresh, retry, expire, minimum), TXT a list of bytes; other
    types their rdata bytes. Setting data sets rdata."""

    def __init__(self, name, type='A', ttl=0, data=None, rdata=None, class_=1):
        self.name = name.rstrip('.') if name != '.' else ''
        self.type = type_code(type)
        self.klass = class_
        self.ttl = ttl
        self.rdata = bytes(rdata) if rdata is not None else b''
        if data is not None:
            self.data = data

    @property
    def class_(self):
        return self.klass

    @class_.setter
    def class_(self, v):
        self.klass = v

    @property
    def type_name(self):
        return DNS_TYPE_NAMES.get(self.type, 'TYPE%d' % self.type)

    @property
    def data(self):
        cdef bytes r = self.rdata
        cdef const unsigned char* p = r
        cdef int t = self.type, n = len(r), e, e2, i
        if t == 1 and n == 4:
            return _dns_socket.inet_ntop(_dns_socket.AF_INET, r)
        if t == 28 and n == 16:
            return _dns_socket.inet_ntop(_dns_socket.AF_INET6, r)
        if t == 5 or t == 2 or t == 12 or t == 39:
            return dns_read_name(p, n, 0)
        if t == 15 and n >= 3:
            return (rd16(p), dns_read_name(p, n, 2))
        if t == 33 and n >= 7:
            return (rd16(p), rd16(p + 2), rd16(p + 4), dns_read_name(p, n, 6))
        if t == DNS_SOA:
            e = dns_name_end(p, n, 0)
            e2 = dns_name_end(p, n, e)
            if e2 + 20 == n:
                nums = []
                for i in range(5):
                    nums.append(rd32(p + e2 + 4 * i))
                return (dns_read_name(p, n, 0), dns_read_name(p, n, e)) + tuple(nums)
        if t == 16:
            out = []
            i = 0
            while i < n:
                out.append(r[i + 1:i + 1 + p[i]])
                i += 1 + p[i]
            return out
        return r

    @data.setter
    def data(self, value):
        cdef int t = self.type
        if t == 1:
            self.rdata = _dns_socket.inet_pton(_dns_socket.AF_INET, value)
        elif t == 28:
            self.rdata = _dns_socket.inet_pton(_dns_socket.AF_INET6, value)
        elif t == 5 or t == 2 or t == 12 or t == 39:
            self.rdata = dns_name_wire(value)
        elif t == 15:
            self.rdata = int(value[0]).to_bytes(2, 'big') + dns_name_wire(value[1])
        elif t == 33:
            self.rdata = b''.join(int(v).to_bytes(2, 'big') for v in value[:3]) + dns_name_wire(value[3])
        elif t == DNS_SOA:
            self.rdata = dns_name_wire(value[0]) + dns_name_wire(value[1]) + b''.join(
                int(v).to_bytes(4, 'big') for v in value[2:7])
        elif t == 16:
            parts = [value] if isinstance(value, (str, bytes)) else value
            out = bytearray()
            for s in parts:
                b = s.encode() if isinstance(s, str) else bytes(s)
                while True:                       # a character-string holds 255 bytes: longer text is split
                    out.append(min(len(b), 255))
                    out += b[:255]
                    b = b[255:]
                    if not b:
                        break
            self.rdata = bytes(out)
        else:
            self.rdata = bytes(value)

    def __repr__(self):
        return 'DnsRecord(%r, %r, %d, %r)' % (self.name, self.type_name, self.ttl, self.data)


cdef class DnsEdns:
    """EDNS0, the OPT record: payload_size (the largest UDP answer the sender takes), do (DNSSEC OK), version,
    ext_rcode, options [(code, bytes)]; client_subnet reads option 8."""

    def __init__(self, payload_size=1232, do=False, options=None, version=0, ext_rcode=0):
        self.payload_size = payload_size
        self.do = do
        self.options = list(options) if options else []
        self.version = version
        self.ext_rcode = ext_rcode

    @property
    def client_subnet(self):
        """(address, source_prefix, scope_prefix) of the client subnet option, or None."""
        for code, value in self.options:
            if code == DNS_CLIENT_SUBNET and len(value) >= 4:
                family, source, scope = int.from_bytes(value[:2], 'big'), value[2], value[3]
                raw = bytes(value[4:])
                if family == 1:
                    return (_dns_socket.inet_ntop(_dns_socket.AF_INET, raw.ljust(4, b'\0')[:4]), source, scope)
                if family == 2:
                    return (_dns_socket.inet_ntop(_dns_socket.AF_INET6, raw.ljust(16, b'\0')[:16]), source, scope)
        return None

    def set_client_subnet(self, address, source_prefix, scope_prefix=0):
        """Sets (or replaces) the client subnet option: address keeps only its first source_prefix bits."""
        v6 = ':' in address
        raw = _dns_socket.inet_pton(_dns_socket.AF_INET6 if v6 else _dns_socket.AF_INET, address)
        nbytes = (source_prefix + 7) // 8
        raw = bytearray(raw[:nbytes])
        if source_prefix % 8 and raw:
            raw[len(raw) - 1] &= (0xFF << (8 - source_prefix % 8)) & 0xFF
        value = (2 if v6 else 1).to_bytes(2, 'big') + bytes([source_prefix, scope_prefix]) + bytes(raw)
        self.options = [(c, v) for c, v in self.options if c != DNS_CLIENT_SUBNET] + [(DNS_CLIENT_SUBNET, value)]

    cdef tuple state(self):
        return (self.payload_size, self.ext_rcode, self.version, self.do, tuple(self.options))

    def __repr__(self):
        return 'DnsEdns(payload_size=%d, do=%r, options=%r)' % (self.payload_size, self.do, self.options)


cdef class DnsMessage:
    """A DNS message. DnsMessage(wire_bytes) parses one (DnsError says what is wrong); DnsMessage(id=..., rd=True,
    questions=[...], answers=[...], ...) builds one; DnsMessage.query(name, type) makes a query. Fields: id, qr,
    opcode, aa, tc, rd, ra, ad, cd, rcode; questions, answers, authority, additional (lists, made when first read; the
    OPT record is not among additional: it is edns). Written back as the bytes it came as unless a script changed
    the questions, records or edns (a changed id or flag is patched into those bytes)."""

    def __cinit__(self):
        self.opt = -1
        self.q1type = -1

    def __init__(self, data=None, id=0, qr=False, opcode=0, aa=False, tc=False, rd=False, ra=False, ad=False,
                 cd=False, rcode=0, questions=None, answers=None, authority=None, additional=None, edns=None):
        if data is not None:
            self.raw = bytes(data)
            self.scan()
            return
        self._id = id & 0xFFFF
        self._flags = ((1 << 15) if qr else 0) | ((opcode & 15) << 11) | ((1 << 10) if aa else 0) | (
            (1 << 9) if tc else 0) | ((1 << 8) if rd else 0) | ((1 << 7) if ra else 0) | ((1 << 5) if ad else 0) | (
            (1 << 4) if cd else 0) | (DNS_RCODES.get(rcode, 0) if isinstance(rcode, str) else rcode & 15)
        self._questions = list(questions) if questions else []
        self._sections = [list(answers or ()), list(authority or ()), list(additional or ())]
        self._edns = edns if edns is not None else False
        self._snapshot = None

    def __dealloc__(self):
        if self.rrs != NULL:
            free(self.rrs)

    @staticmethod
    def query(name, type='A', *, id=None, rd=True, edns=None):
        """A query for name and type (with a random id unless given; edns: a DnsEdns or None)."""
        import random
        return DnsMessage(id=random.getrandbits(16) if id is None else id, rd=rd,
                          questions=[DnsQuestion(name, type)], edns=edns)

    cdef int scan(self) except -1:
        cdef const unsigned char* p = self.raw
        cdef int n = len(self.raw), pos, end, i, k, total
        if n < DNS_HEADER:
            raise DnsError('%d bytes: shorter than a DNS header' % n)
        self._id = rd16(p)
        self._flags = rd16(p + 2)
        total = 0
        for k in range(4):
            self.counts[k] = rd16(p + 4 + 2 * k)
        # Each question takes 5 bytes at least and each record 11: a count that lies is caught before any work.
        if self.counts[0] * 5 + (self.counts[1] + self.counts[2] + self.counts[3]) * 11 > n - DNS_HEADER:
            raise DnsError('the header counts %d questions and %d records, more than %d bytes hold' % (
                self.counts[0], self.counts[1] + self.counts[2] + self.counts[3], n))
        pos = DNS_HEADER
        for i in range(self.counts[0]):
            end = dns_name_end(p, n, pos)
            if end + 4 > n:
                raise DnsError('question %d runs past the end of the message' % (i + 1))
            if i == 0:
                self.q1type = rd16(p + end)
                self.q1class = rd16(p + end + 2)
            pos = end + 4
        self.qend = pos
        self.nrr = self.counts[1] + self.counts[2] + self.counts[3]
        if self.nrr:
            self.rrs = <DnsRR*>malloc(self.nrr * sizeof(DnsRR))
            if self.rrs == NULL:
                raise MemoryError()
        for i in range(self.nrr):
            self.rrs[i].name = pos
            end = dns_name_end(p, n, pos)
            if end + 10 > n:
                raise DnsError('record %d runs past the end of the message' % (i + 1))
            self.rrs[i].type = rd16(p + end)
            self.rrs[i].klass = rd16(p + end + 2)
            self.rrs[i].ttl = end + 4
            self.rrs[i].rdlen = rd16(p + end + 8)
            self.rrs[i].rdata = end + 10
            pos = end + 10 + self.rrs[i].rdlen
            if pos > n:
                raise DnsError('the rdata of record %d runs past the end of the message' % (i + 1))
            if self.rrs[i].type == DNS_OPT and i >= self.counts[1] + self.counts[2] and self.opt < 0:
                self.opt = i
        return 0

    # -- header --------------------------------------------------------------------------------------------------

    @property
    def id(self):
        return self._id

    @id.setter
    def id(self, int v):
        self._id = v & 0xFFFF

    @property
    def flags(self):
        """The 16 bits of flags, opcode and rcode as on the wire."""
        return self._flags

    @flags.setter
    def flags(self, int v):
        self._flags = v & 0xFFFF

    @property
    def qr(self):
        """A response (QR)."""
        return bool(self._flags & 0x8000)

    @qr.setter
    def qr(self, v):
        self._flags = (self._flags | 0x8000) if v else (self._flags & ~0x8000)

    @property
    def aa(self):
        """An authoritative answer (AA)."""
        return bool(self._flags & 0x400)

    @aa.setter
    def aa(self, v):
        self._flags = (self._flags | 0x400) if v else (self._flags & ~0x400)

    @property
    def tc(self):
        """Truncated (TC)."""
        return bool(self._flags & 0x200)

    @tc.setter
    def tc(self, v):
        self._flags = (self._flags | 0x200) if v else (self._flags & ~0x200)

    @property
    def rd(self):
        """Recursion desired (RD)."""
        return bool(self._flags & 0x100)

    @rd.setter
    def rd(self, v):
        self._flags = (self._flags | 0x100) if v else (self._flags & ~0x100)

    @property
    def ra(self):
        """Recursion available (RA)."""
        return bool(self._flags & 0x80)

    @ra.setter
    def ra(self, v):
        self._flags = (self._flags | 0x80) if v else (self._flags & ~0x80)

    @property
    def ad(self):
        """Authentic data (AD)."""
        return bool(self._flags & 0x20)

    @ad.setter
    def ad(self, v):
        self._flags = (self._flags | 0x20) if v else (self._flags & ~0x20)

    @property
    def cd(self):
        """Checking disabled (CD)."""
        return bool(self._flags & 0x10)

    @cd.setter
    def cd(self, v):
        self._flags = (self._flags | 0x10) if v else (self._flags & ~0x10)

    @property
    def opcode(self):
        return (self._flags >> 11) & 15

    @opcode.setter
    def opcode(self, int v):
        self._flags = (self._flags & ~(15 << 11)) | ((v & 15) << 11)

    @property
    def rcode(self):
        """The response code: 0 NOERROR, 1 FORMERR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED (set it by number or name)."""
        return self._flags & 15

    @rcode.setter
    def rcode(self, v):
        self._flags = (self._flags & ~15) | ((DNS_RCODES[v.upper()] if isinstance(v, str) else v) & 15)

    # -- questions, records, EDNS ---------------------------------------------------------------------------------

    cdef list read_questions(self):
        cdef const unsigned char* p
        cdef int n, pos, end
        if self._questions is None:
            qs = []
            if self.raw is not None:
                p = self.raw
                n = len(self.raw)
                pos = DNS_HEADER
                for i in range(self.counts[0]):
                    end = dns_name_end(p, n, pos)
                    q = DnsQuestion.__new__(DnsQuestion)
                    q.name = dns_read_name(p, n, pos)
                    q.type = rd16(p + end)
                    q.klass = rd16(p + end + 2)
                    qs.append(q)
                    pos = end + 4
            self._questions = qs
            self.snap(0, tuple((q.name, q.type, q.klass) for q in qs))
        return self._questions

    cdef void snap(self, int i, object state):
        s = list(self._snapshot) if self._snapshot is not None else [_UNREAD, _UNREAD, _UNREAD]
        s[i] = state
        self._snapshot = tuple(s)

    cdef list read_sections(self):
        cdef const unsigned char* p
        cdef int n, i
        cdef DnsRecord r
        if self._sections is None:
            secs = [[], [], []]
            if self.raw is not None:
                p = self.raw
                n = len(self.raw)
                for i in range(self.nrr):
                    if i == self.opt:
                        continue
                    r = DnsRecord.__new__(DnsRecord)
                    r.name = dns_read_name(p, n, self.rrs[i].name)
                    r.type = self.rrs[i].type
                    r.klass = self.rrs[i].klass
                    r.ttl = rd32(p + self.rrs[i].ttl)
                    r.rdata = expand_rdata(p, n, &self.rrs[i])
                    secs[0 if i < self.counts[1] else 1 if i < self.counts[1] + self.counts[2] else 2].append(r)
            self._sections = secs
            self.snap(1, tuple(tuple((r.name, r.type, r.klass, r.ttl, r.rdata) for r in s) for s in secs))
        return self._sections

    @property
    def questions(self):
        return self.read_questions()

    @questions.setter
    def questions(self, v):
        self.read_questions()
        self._questions = list(v)

    @property
    def question(self):
        """The first question, or None."""
        qs = self.read_questions()
        return qs[0] if qs else None

    @property
    def qname(self):
        """The first question's name, lower-cased ('' for none): read without making the question objects."""
        cdef unsigned char buf[256]
        cdef int end
        if self._questions is None and self.raw is not None:
            if not self.counts[0]:
                return ''
            dns_name_walk(self.raw, len(self.raw), DNS_HEADER, buf, True, &end)
            return wire_to_text(buf)
        q = self.question
        return q.name.lower() if q is not None else ''

    @property
    def qtype(self):
        """The first question's type (an int), or None."""
        if self._questions is None and self.raw is not None:
            return self.q1type if self.q1type >= 0 else None
        q = self.question
        return q.type if q is not None else None

    @property
    def answers(self):
        return self.read_sections()[0]

    @answers.setter
    def answers(self, v):
        self.read_sections()[0] = list(v)

    @property
    def authority(self):
        return self.read_sections()[1]

    @authority.setter
    def authority(self, v):
        self.read_sections()[1] = list(v)

    @property
    def additional(self):
        return self.read_sections()[2]

    @additional.setter
    def additional(self, v):
        self.read_sections()[2] = list(v)

    @property
    def edns(self):
        """The EDNS0 options (DnsEdns), or None: a message without an OPT record. Set to add, change or remove."""
        cdef const unsigned char* p
        cdef DnsRR* rr
        cdef unsigned int ttl
        cdef int i, stop, ln
        if self._edns is None:
            e = False
            if self.opt >= 0:
                p = self.raw
                rr = &self.rrs[self.opt]
                ttl = rd32(p + rr.ttl)
                e = DnsEdns.__new__(DnsEdns)
                e.payload_size = rr.klass
                e.ext_rcode = ttl >> 24
                e.version = (ttl >> 16) & 0xFF
                e.do = bool(ttl & 0x8000)
                e.options = []
                i, stop = rr.rdata, rr.rdata + rr.rdlen
                while i + 4 <= stop:
                    ln = rd16(p + i + 2)
                    if i + 4 + ln > stop:
                        break
                    e.options.append((rd16(p + i), <bytes>p[i + 4:i + 4 + ln]))
                    i += 4 + ln
            self._edns = e
            self.snap(2, (<DnsEdns>e).state() if e is not False else None)
        return self._edns if self._edns is not False else None

    @edns.setter
    def edns(self, v):
        _ = self.edns
        self._edns = v if v is not None else False

    @property
    def payload_size(self):
        """The largest UDP answer the sender takes: its EDNS0 payload size, 512 without EDNS0 (never under 512)."""
        cdef int size = 512
        if self._edns is None:
            if self.opt >= 0:
                size = self.rrs[self.opt].klass
        elif self._edns is not False:
            size = (<DnsEdns>self._edns).payload_size
        return size if size > 512 else 512

    @property
    def client_subnet(self):
        """(address, source_prefix, scope_prefix) from EDNS0, or None."""
        e = self.edns
        return e.client_subnet if e is not None else None

    @property
    def cache_key(self):
        """bytes naming what the message asks: the first question (name lower-cased, type, class), whether it has
        EDNS0, and the DO and CD bits; None without a question. Two queries with the same key get the same answer."""
        cdef unsigned char buf[262]
        cdef int end, ln, do = 0
        if self._questions is not None or self.raw is None or not self.counts[0]:
            q = self.question
            if q is None:
                return None
            w = dns_name_wire(q.name.lower())
            e = self.edns
            return w + bytes([q.type >> 8, q.type & 255, q.klass >> 8, q.klass & 255,
                              (4 if e is not None else 0) | (2 if e is not None and e.do else 0)
                              | (1 if self._flags & 0x10 else 0)])
        ln = dns_name_walk(self.raw, len(self.raw), DNS_HEADER, buf, True, &end)
        # (the answer to a query without EDNS0 must not carry an OPT record: such queries get entries of their own)
        if self._edns is None:
            if self.opt >= 0:
                do = 4
                if rd16(<const unsigned char*>self.raw + self.rrs[self.opt].ttl + 2) & 0x8000:
                    do = 6
        elif self._edns is not False:
            do = 6 if (<DnsEdns>self._edns).do else 4
        buf[ln] = self.q1type >> 8
        buf[ln + 1] = self.q1type & 255
        buf[ln + 2] = self.q1class >> 8
        buf[ln + 3] = self.q1class & 255
        buf[ln + 4] = do | (1 if self._flags & 0x10 else 0)
        return <bytes>buf[:ln + 5]

    def min_ttl(self):
        """The seconds the message may be cached: the lowest TTL of its records (OPT aside); for an answer without
        answers, the lower of its SOA's TTL and minimum (negative caching, RFC 2308); None when it says neither."""
        cdef const unsigned char* p
        cdef long long best = -1, t
        cdef int i, e
        if self.raw is None or self.model_changed():
            return DnsMessage(self.to_bytes()).min_ttl()
        p = self.raw
        for i in range(self.nrr):
            if i == self.opt:
                continue
            t = rd32(p + self.rrs[i].ttl)
            if self.counts[1] == 0 and self.rrs[i].type == DNS_SOA and self.counts[1] <= i < self.counts[1] + self.counts[2]:
                e = dns_name_end(p, self.rrs[i].rdata + self.rrs[i].rdlen, self.rrs[i].rdata)
                e = dns_name_end(p, self.rrs[i].rdata + self.rrs[i].rdlen, e)
                if e + 20 <= self.rrs[i].rdata + self.rrs[i].rdlen and rd32(p + e + 16) < t:
                    t = rd32(p + e + 16)
            if best < 0 or t < best:
                best = t
        return best if best >= 0 else None

    def ttl_offsets(self):
        """Where the TTL of each record (OPT aside) lies in to_bytes(), as bytes of 16-bit offsets (for
        dns_reanswer)."""
        cdef bytearray out = bytearray()
        if self.raw is None or self.model_changed():
            return DnsMessage(self.to_bytes()).ttl_offsets()
        for i in range(self.nrr):
            if i != self.opt:
                out += (<int>self.rrs[i].ttl).to_bytes(2, 'little')
        return bytes(out)

    # -- writing -------------------------------------------------------------------------------------------------

    cdef tuple model_state(self):
        qs = tuple((q.name, q.type, q.klass) for q in self._questions) if self._questions is not None else _UNREAD
        ss = tuple(tuple((r.name, r.type, r.klass, r.ttl, r.rdata) for r in s) for s in self._sections) \
            if self._sections is not None else _UNREAD
        es = _UNREAD if self._edns is None else ((<DnsEdns>self._edns).state() if self._edns is not False else None)
        return (qs, ss, es)

    cdef bint model_changed(self):
        # Only what a script has read can have been changed; that is compared with what was parsed.
        if self.raw is None:
            return True
        if self._snapshot is None:
            return False
        cur = self.model_state()
        for i in range(3):
            if cur[i] is not _UNREAD and cur[i] != self._snapshot[i]:
                return True
        return False

    cdef bytes encode_model(self):
        qs = self.read_questions()
        secs = self.read_sections()
        e = self.edns
        out = bytearray(DNS_HEADER)
        names = {}
        ar = len(secs[2]) + (1 if e is not None else 0)
        out[0:12] = b''.join(int(v).to_bytes(2, 'big') for v in (
            self._id, self._flags, len(qs), len(secs[0]), len(secs[1]), ar))
        for q in qs:
            write_name(out, q.name, names)
            out += int(q.type).to_bytes(2, 'big') + int(q.klass).to_bytes(2, 'big')
        for s in secs:
            for r in s:
                write_name(out, r.name, names)
                out += int(r.type).to_bytes(2, 'big') + int(r.klass).to_bytes(2, 'big') + \
                    (int(r.ttl) & 0xFFFFFFFF).to_bytes(4, 'big') + len(r.rdata).to_bytes(2, 'big') + r.rdata
        if e is not None:
            rdata = b''.join(int(c).to_bytes(2, 'big') + len(v).to_bytes(2, 'big') + bytes(v) for c, v in e.options)
            out += b'\0' + DNS_OPT.to_bytes(2, 'big') + int(e.payload_size).to_bytes(2, 'big') + bytes(
                [e.ext_rcode & 255, e.version & 255, 0x80 if e.do else 0, 0]) + len(rdata).to_bytes(2, 'big') + rdata
        if len(out) > 65535:
            raise DnsError('a message of %d bytes, over 65535' % len(out))
        return bytes(out)

    def to_bytes(self):
        """The message as wire bytes: the bytes it came as when nothing but the header changed (patched)."""
        cdef const unsigned char* p
        if self.model_changed():
            return self.encode_model()
        p = self.raw
        if rd16(p) == self._id and rd16(p + 2) == self._flags:
            return self.raw
        b = bytearray(self.raw)
        b[0] = self._id >> 8
        b[1] = self._id & 255
        b[2] = self._flags >> 8
        b[3] = self._flags & 255
        return bytes(b)

    def __bytes__(self):
        return self.to_bytes()

    def __len__(self):
        return len(self.to_bytes())

    def reply(self, *, rcode=0, answers=None, authority=None, aa=False):
        """An answer to this query: same id, opcode, RD, CD and questions, QR and RA set, EDNS0 (payload 1232) when
        the query had it."""
        return DnsMessage(id=self._id, qr=True, opcode=self.opcode, rd=self.rd, ra=True, cd=self.cd, aa=aa,
                          rcode=rcode, questions=[DnsQuestion(q.name, q.type, q.klass) for q in self.questions],
                          answers=answers, authority=authority,
                          edns=DnsEdns(1232, do=self.edns.do) if self.edns is not None else None)

    def dnslib(self):
        """The message as a dnslib.DNSRecord: the full record model, for what the fields here do not cover."""
        import dnslib
        return dnslib.DNSRecord.parse(self.to_bytes())

    @staticmethod
    def from_dnslib(record):
        """A DnsMessage from a dnslib.DNSRecord."""
        return DnsMessage(record.pack())

    def __repr__(self):
        q = self.question
        return '<DnsMessage id=%d %s %s %s rcode=%d>' % (
            self._id, 'answer' if self.qr else 'query', q.name if q is not None else '-',
            q.type_name if q is not None else '-', self.rcode)


cdef write_name(bytearray out, str name, dict names):
    # Owner names are compressed against the names written before them (RFC 1035 4.1.4), letter case kept.
    labels = name.split('.') if name else []
    for i in range(len(labels)):
        suffix = '.'.join(labels[i:])
        at = names.get(suffix)
        if at is not None:
            out += (0xC000 | at).to_bytes(2, 'big')
            return
        if len(out) < 0x3FFF:
            names[suffix] = len(out)
        b = labels[i].encode('latin-1')
        if not b or len(b) > 63:
            raise DnsError('%r: a label is empty or over 63 bytes' % name)
        out.append(len(b))
        out += b
    out.append(0)


def dns_reanswer(wire, bytes ttl_offsets, DnsMessage query, unsigned int elapsed):
    """A stored answer given again to query: its id, RD bit and question (the asker's letter case) put in, and
    every TTL lowered by elapsed seconds (not under 0). Wire bytes in, wire bytes out: no records are read."""
    if type(wire) is not bytes:
        wire = bytes(wire)
    cdef Py_ssize_t n = len(wire), i, k, qlen
    cdef bytes out = PyBytes_FromStringAndSize(PyBytes_AS_STRING(wire), n)
    cdef unsigned char* o = <unsigned char*>PyBytes_AS_STRING(out)
    cdef const unsigned char* offs = ttl_offsets
    cdef const unsigned char* q
    cdef unsigned int ttl
    cdef bytes qraw = query.raw
    if n < DNS_HEADER or qraw is None:
        return out
    q = qraw
    o[0] = query._id >> 8
    o[1] = query._id & 255
    o[2] = (o[2] & 0xFE) | ((query._flags >> 8) & 1)
    qlen = query.qend - DNS_HEADER
    if qlen > 0 and DNS_HEADER + qlen <= n:
        for i in range(qlen):
            if (o[DNS_HEADER + i] | 0x20) != (q[DNS_HEADER + i] | 0x20):
                break
        else:
            memcpy(o + DNS_HEADER, q + DNS_HEADER, qlen)
    for k in range(0, len(ttl_offsets) - 1, 2):
        i = offs[k] | (offs[k + 1] << 8)
        if i + 4 <= n:
            ttl = rd32(o + i)
            ttl = ttl - elapsed if ttl > elapsed else 0
            o[i] = ttl >> 24
            o[i + 1] = (ttl >> 16) & 255
            o[i + 2] = (ttl >> 8) & 255
            o[i + 3] = ttl & 255
    return out


def dns_truncated(wire):
    """The answer cut to its header and questions with TC set: what a UDP client gets when the whole answer is over
    its payload size, so that it asks again over TCP."""
    if type(wire) is not bytes:
        wire = bytes(wire)
    cdef const unsigned char* p = wire
    cdef int n = len(wire), pos = DNS_HEADER, end
    if n < DNS_HEADER:
        raise DnsError('%d bytes: shorter than a DNS header' % n)
    for i in range(rd16(p + 4)):
        end = dns_name_end(p, n, pos)
        pos = end + 4
        if pos > n:
            raise DnsError('question %d runs past the end of the message' % (i + 1))
    out = bytearray(wire[:pos])
    out[2] |= 0x02
    out[6:12] = b'\0' * 6
    return bytes(out)
