# The ClientHello of TLS, read without terminating TLS: which name the client asks for (SNI) and which protocols it
# offers (ALPN), so that a script can route a TLS stream by name and pass it on untouched. Sans-I/O: bytes in, a
# state out. The message may come in several records and the records in pieces of any size.

cdef Py_ssize_t HELLO_LIMIT = 16384           # a ClientHello longer than this (its handshake bytes) is refused


cdef class TlsHelloParser:
    """feed(bytes) until state is no longer HELLO_MORE (0): HELLO_DONE (1) with sni (str or None), alpn (list of
    str) and versions (TLS versions offered, as 'TLSv1.3' ...), or HELLO_BAD (2) with error."""

    def __init__(self, Py_ssize_t limit=HELLO_LIMIT):
        self.buf = bytearray()
        self.record = bytearray()
        self.limit = limit
        self.alpn = []
        self.versions = []

    def feed(self, data):
        """Takes the next bytes of the stream; returns the state."""
        cdef const unsigned char[:] v = memoryview(data).cast('B')
        if len(v):
            self.feed_bytes(&v[0], len(v))
        return self.state

    cdef int bad(self, str why) except -1:
        self.state = HELLO_BAD
        self.error = why
        return 0

    cdef int feed_bytes(self, const unsigned char* p, Py_ssize_t n) except -1:
        cdef Py_ssize_t take, need, rlen, mlen
        cdef Py_ssize_t i = 0
        while i < n and self.state == HELLO_MORE:
            # The record header first, then its payload, which goes to the handshake message.
            if len(self.record) < 5:
                take = min(5 - len(self.record), n - i)
                self.record += p[i:i + take]
                i += take
                if len(self.record) < 5:
                    return 0
                if self.record[0] != 22:
                    return self.bad('not a TLS handshake (the first byte is %d)' % self.record[0])
                if self.record[1] != 3:
                    return self.bad('not a TLS record (version %d.%d)' % (self.record[1], self.record[2]))
                rlen = (self.record[3] << 8) | self.record[4]
                if rlen == 0 or rlen > 16384:
                    return self.bad('a handshake record of %d bytes' % rlen)
                continue
            rlen = (self.record[3] << 8) | self.record[4]
            need = rlen - (len(self.record) - 5)
            take = min(need, n - i)
            self.record += p[i:i + take]
            self.buf += p[i:i + take]
            i += take
            if take == need:
                self.record.clear()             # the next record follows
            if len(self.buf) >= 4:
                # (The length the message declares is checked first: a longer one is refused by it, whatever came.)
                if self.buf[0] != 1:
                    return self.bad('the first handshake message is not a ClientHello (type %d)' % self.buf[0])
                mlen = (self.buf[1] << 16) | (self.buf[2] << 8) | self.buf[3]
                if mlen + 4 > self.limit:
                    return self.bad('a ClientHello of %d bytes, over max_hello_size (%d)' % (mlen + 4, self.limit))
                if len(self.buf) >= mlen + 4:
                    return self.parse_hello()
            elif len(self.buf) > self.limit:
                return self.bad('a ClientHello over max_hello_size (%d)' % self.limit)
        return 0

    cdef int parse_hello(self) except -1:
        cdef const unsigned char* m = self.buf
        cdef Py_ssize_t end = 4 + ((self.buf[1] << 16) | (self.buf[2] << 8) | self.buf[3])
        cdef Py_ssize_t i = 4 + 2 + 32          # legacy version, random
        cdef Py_ssize_t n, ext_end, t, l, j, k, lend
        if end < i + 1:
            return self.bad('a ClientHello too short')
        i += 1 + m[i]                            # session id
        if i + 2 > end:
            return self.bad('a ClientHello cut in its cipher suites')
        i += 2 + ((m[i] << 8) | m[i + 1])        # cipher suites
        if i + 1 > end:
            return self.bad('a ClientHello cut in its compression methods')
        i += 1 + m[i]                            # compression methods
        if i > end:
            return self.bad('a ClientHello cut in its compression methods')
        if i == end:
            self.state = HELLO_DONE              # no extensions at all
            return 0
        if i + 2 > end:
            return self.bad('a ClientHello cut in its extensions')
        ext_end = i + 2 + ((m[i] << 8) | m[i + 1])
        if ext_end > end:
            return self.bad('a ClientHello whose extensions overrun it')
        i += 2
        while i + 4 <= ext_end:
            t = (m[i] << 8) | m[i + 1]
            l = (m[i + 2] << 8) | m[i + 3]
            i += 4
            if i + l > ext_end:
                return self.bad('a ClientHello extension overruns its list')
            if t == 0 and l >= 2:                # server_name: a list of (type, name); the host_name one counts
                j = i + 2
                lend = min(i + 2 + ((m[i] << 8) | m[i + 1]), i + l)
                while j + 3 <= lend:
                    k = (m[j + 1] << 8) | m[j + 2]
                    if j + 3 + k > lend:
                        return self.bad('a ClientHello with a cut server name')
                    if m[j] == 0 and self.sni is None:
                        self.sni = m[j + 3:j + 3 + k].decode('ascii', 'replace')
                    j += 3 + k
            elif t == 16 and l >= 2:             # application_layer_protocol_negotiation
                j = i + 2
                lend = min(i + 2 + ((m[i] << 8) | m[i + 1]), i + l)
                while j + 1 <= lend:
                    k = m[j]
                    if j + 1 + k > lend:
                        return self.bad('a ClientHello with a cut ALPN name')
                    self.alpn.append(m[j + 1:j + 1 + k].decode('ascii', 'replace'))
                    j += 1 + k
            elif t == 43 and l >= 1:             # supported_versions
                j = i + 1
                lend = min(i + 1 + m[i], i + l)
                while j + 2 <= lend:
                    if m[j] == 3 and 1 <= m[j + 1] <= 4:
                        self.versions.append('TLSv1.%d' % (m[j + 1] - 1) if m[j + 1] > 1 else 'TLSv1')
                    j += 2
            i += l
        self.state = HELLO_DONE
        return 0
