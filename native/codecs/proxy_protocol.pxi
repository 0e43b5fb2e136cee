# The PROXY protocol (haproxy's doc/proxy-protocol.txt), sans-I/O: a proxy in front of us says, before the stream's
# first byte, whom the connection really came from. Version 1 is one text line, version 2 a binary block with
# optional type-length-value fields. ProxyHeaderParser reads one from bytes split anywhere; encode_proxy_header writes
# one.

import ipaddress as _ipaddress
import struct as _struct

cdef bytes PP_V1_PREFIX = b'PROXY '
cdef bytes PP_V2_SIGNATURE = b'\r\n\r\n\x00\r\nQUIT\n'
cdef Py_ssize_t PP_V1_MAX = 107              # the longest line the specification allows, CRLF included
cdef dict PP_V2_FAMILIES = {
    0x00: ('UNKNOWN', 0), 0x11: ('TCP4', 12), 0x12: ('UDP4', 12), 0x21: ('TCP6', 36), 0x22: ('UDP6', 36),
    0x31: ('UNIX', 216), 0x32: ('UNIX_DGRAM', 216),
}
cdef dict PP_V2_FAMILY_OF = {name: (code, size) for code, (name, size) in PP_V2_FAMILIES.items()}


cdef class ProxyHeader:
    """What a PROXY protocol header says: version, command ('PROXY' or 'LOCAL'), transport ('TCP4', 'TCP6', ...,
    'UNKNOWN'), source_address/source_port (the client), destination_address/destination_port (the address the
    client connected to), and for version 2 its TLVs as {type: bytes}."""

    def __init__(self, version=1, command='PROXY', transport='UNKNOWN', source_address=None, source_port=None,
                 destination_address=None, destination_port=None, tlvs=None):
        self.version = version
        self.command = command
        self.transport = transport
        self.source_address = source_address
        self.source_port = source_port
        self.destination_address = destination_address
        self.destination_port = destination_port
        self.tlvs = tlvs if tlvs is not None else {}

    def __repr__(self):
        return '<PROXY v%d %s %s %s:%s -> %s:%s>' % (self.version, self.command, self.transport, self.source_address,
                                                    self.source_port, self.destination_address, self.destination_port)


cdef object _v1_port(bytes b):
    # Decimal, 0..65535, without a sign or leading zeros.
    if not b or len(b) > 5 or not b.isdigit() or (len(b) > 1 and b[0] == 0x30):
        return None
    p = int(b)
    return p if p <= 65535 else None


cdef class ProxyHeaderParser:
    """Reads a PROXY protocol header (v1 or v2) from the first bytes of a stream. feed() returns 0 while more is
    needed, 1 once the header is read (header; what came after it in rest), -1 when the stream does not start with
    a valid one (error says why). A header longer than max_size bytes is refused."""

    def __init__(self, Py_ssize_t max_size=4096):
        self.buf = bytearray()
        self.max_size = max_size if max_size >= 232 else 232      # a v2 header with a UNIX address must fit
        self.rest = b''

    cpdef int feed(self, bytes data):
        cdef Py_ssize_t n, i
        if self.state != 0:
            return self.state
        self.buf += data
        n = len(self.buf)
        # Refuse as soon as the first bytes are neither signature: a client speaking something else is not kept
        # waiting for a header it will never send.
        i = n if n < 12 else 12
        if bytes(self.buf[:6 if i > 6 else i]) != PP_V1_PREFIX[:6 if i > 6 else i] and \
                bytes(self.buf[:i]) != PP_V2_SIGNATURE[:i]:
            return self.fail('no PROXY protocol header')
        if self.buf[:1] == b'P':
            return self.parse_v1()
        return self.parse_v2()

    cdef int fail(self, str why):
        self.state = -1
        self.error = why
        self.buf = None
        return -1

    cdef int parse_v1(self):
        cdef Py_ssize_t end = self.buf.find(b'\r\n')
        if end < 0:
            if len(self.buf) >= PP_V1_MAX:
                return self.fail('PROXY v1 line longer than %d bytes' % PP_V1_MAX)
            return 0
        if end + 2 > PP_V1_MAX:
            return self.fail('PROXY v1 line longer than %d bytes' % PP_V1_MAX)
        line = bytes(self.buf[:end])
        self.rest = bytes(self.buf[end + 2:])
        self.buf = None
        parts = line.split(b' ')
        h = ProxyHeader(1)
        if len(parts) >= 2 and parts[1] == b'UNKNOWN':
            # The proxy does not know the addresses (or the family is not IP): the connection's own ones stand.
            self.header = h
            self.state = 1
            return 1
        if len(parts) != 6 or parts[1] not in (b'TCP4', b'TCP6'):
            return self.fail('malformed PROXY v1 line %r' % line[:64])
        try:
            src = _ipaddress.ip_address(parts[2].decode('ascii'))
            dst = _ipaddress.ip_address(parts[3].decode('ascii'))
        except (ValueError, UnicodeDecodeError):
            return self.fail('malformed address in PROXY v1 line %r' % line[:64])
        if src.version != dst.version or src.version != (4 if parts[1] == b'TCP4' else 6):
            return self.fail('address family mismatch in PROXY v1 line %r' % line[:64])
        sp = _v1_port(parts[4])
        dp = _v1_port(parts[5])
        if sp is None or dp is None:
            return self.fail('malformed port in PROXY v1 line %r' % line[:64])
        h.transport = parts[1].decode()
        h.source_address, h.destination_address = str(src), str(dst)
        h.source_port, h.destination_port = sp, dp
        self.header = h
        self.state = 1
        return 1

    cdef int parse_v2(self):
        cdef Py_ssize_t n = len(self.buf)
        cdef Py_ssize_t length, size, i, tl
        if n < 16:
            return 0
        ver_cmd = self.buf[12]
        fam = self.buf[13]
        length = (self.buf[14] << 8) | self.buf[15]
        if ver_cmd >> 4 != 2 or (ver_cmd & 0xF) > 1:
            return self.fail('PROXY v2 header with version/command 0x%02x' % ver_cmd)
        if 16 + length > self.max_size:
            return self.fail('PROXY v2 header of %d bytes, more than %d' % (16 + length, self.max_size))
        if n < 16 + length:
            return 0
        block = bytes(self.buf[16:16 + length])
        self.rest = bytes(self.buf[16 + length:])
        self.buf = None
        h = ProxyHeader(2, 'LOCAL' if ver_cmd & 0xF == 0 else 'PROXY')
        family = PP_V2_FAMILIES.get(fam)
        if family is None:
            return self.fail('PROXY v2 header with address family 0x%02x' % fam)
        if h.command == 'LOCAL':
            # Sent by the proxy on its own behalf (a health check): the block, if any, is to be skipped.
            self.header = h
            self.state = 1
            return 1
        name, size = family
        if length < size:
            return self.fail('PROXY v2 length %d is too short for a %s address block of %d' % (length, name, size))
        h.transport = name
        if name in ('TCP4', 'UDP4'):
            h.source_address = str(_ipaddress.IPv4Address(block[0:4]))
            h.destination_address = str(_ipaddress.IPv4Address(block[4:8]))
            h.source_port, h.destination_port = _struct.unpack('!HH', block[8:12])
        elif name in ('TCP6', 'UDP6'):
            h.source_address = str(_ipaddress.IPv6Address(block[0:16]))
            h.destination_address = str(_ipaddress.IPv6Address(block[16:32]))
            h.source_port, h.destination_port = _struct.unpack('!HH', block[32:36])
        elif name != 'UNKNOWN':
            h.source_address = block[0:108].split(b'\0', 1)[0].decode('utf-8', 'replace')
            h.destination_address = block[108:216].split(b'\0', 1)[0].decode('utf-8', 'replace')
        i = size
        while i < length:
            if length - i < 3:
                return self.fail('garbage after the TLVs of a PROXY v2 header')
            tl = (block[i + 1] << 8) | block[i + 2]
            if i + 3 + tl > length:
                return self.fail('a PROXY v2 TLV (type 0x%02x, %d bytes) runs past the header' % (block[i], tl))
            h.tlvs[block[i]] = block[i + 3:i + 3 + tl]
            i += 3 + tl
        self.header = h
        self.state = 1
        return 1


cpdef bytes encode_proxy_header(int version, object source, object destination, str transport=None, object tlvs=None):
    """A PROXY protocol header. source and destination are (address, port); None for either makes a header that
    carries no addresses (v1 'UNKNOWN', v2 'LOCAL'). transport defaults to TCP4 or TCP6 by the addresses ('UDP': UDP4 or
    UDP6 by them, v2 only). tlvs (v2):
    {type: bytes} or (type, bytes) pairs."""
    if version not in (1, 2):
        raise ValueError('PROXY protocol version is 1 or 2, not %r' % (version,))
    if source is None or destination is None:
        if version == 1:
            return b'PROXY UNKNOWN\r\n'
        return PP_V2_SIGNATURE + b'\x20\x00\x00\x00'
    src = _ipaddress.ip_address(str(source[0]))
    dst = _ipaddress.ip_address(str(destination[0]))
    if src.version != dst.version:
        # A client over IPv4 to an IPv6 listener (or the reverse): both as IPv6, the v4 one mapped.
        src = src if src.version == 6 else _ipaddress.IPv6Address('::ffff:' + str(src))
        dst = dst if dst.version == 6 else _ipaddress.IPv6Address('::ffff:' + str(dst))
    sp, dp = int(source[1]), int(destination[1])
    if not (0 <= sp <= 65535 and 0 <= dp <= 65535):
        raise ValueError('port out of range in %r -> %r' % (source, destination))
    if transport is None or transport in ('TCP', 'UDP'):
        transport = (transport or 'TCP') + ('4' if src.version == 4 else '6')
    if version == 1:
        if transport not in ('TCP4', 'TCP6'):
            raise ValueError('PROXY v1 carries TCP4 or TCP6, not %r' % transport)
        return ('PROXY %s %s %s %d %d\r\n' % (transport, src, dst, sp, dp)).encode('ascii')
    fam = PP_V2_FAMILY_OF.get(transport)
    if fam is None or fam[1] not in (12, 36) or (fam[1] == 12) != (src.version == 4):
        raise ValueError('PROXY v2 transport %r does not fit the addresses %s, %s' % (transport, src, dst))
    block = src.packed + dst.packed + _struct.pack('!HH', sp, dp)
    if tlvs:
        items = tlvs.items() if isinstance(tlvs, dict) else tlvs
        for t, v in items:
            v = bytes(v)
            if not 0 <= int(t) <= 255 or len(v) > 65535:
                raise ValueError('PROXY v2 TLV type %r of %d bytes' % (t, len(v)))
            block += _struct.pack('!BH', int(t), len(v)) + v
    if len(block) > 65535:
        raise ValueError('PROXY v2 header longer than 65535 bytes')
    return PP_V2_SIGNATURE + _struct.pack('!BBH', 0x21, fam[0], len(block)) + block
