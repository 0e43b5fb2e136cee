# SOCKS handshakes, sans-I/O: SOCKS5 (RFC 1928, with RFC 1929's username and password), SOCKS4 and its 4a extension
# (a host name in place of the address). Bytes in, decisions out: SocksServer asks its owner to check a password and
# to allow a CONNECT, SocksClient says when the proxy has connected. Only CONNECT is spoken; BIND and UDP ASSOCIATE are
# answered with the protocol's "command not supported".

import ipaddress as _ipaddress
import struct as _struct

cdef enum SocksServerState:
    SS_GREETING = 0
    SS_AUTH = 1                        # reading RFC 1929's username and password
    SS_AUTH_CHECK = 2                  # waiting for accept_auth()
    SS_REQUEST = 3
    SS_CONNECT_CHECK = 4               # waiting for accept_connect()
    SS_DONE = 5
    SS_FAILED = 6

# SOCKS5 replies (RFC 1928 section 6) and SOCKS4's
cdef bytes S5_GENERAL_FAILURE = b'\x05\x01\x00\x01\x00\x00\x00\x00\x00\x00'
cdef bytes S5_NOT_ALLOWED = b'\x05\x02\x00\x01\x00\x00\x00\x00\x00\x00'
cdef bytes S5_COMMAND_NOT_SUPPORTED = b'\x05\x07\x00\x01\x00\x00\x00\x00\x00\x00'
cdef bytes S5_ADDRESS_NOT_SUPPORTED = b'\x05\x08\x00\x01\x00\x00\x00\x00\x00\x00'
cdef bytes S5_SUCCEEDED = b'\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00'
cdef bytes S5_NO_METHOD = b'\x05\xff'
cdef bytes S4_GRANTED = b'\x00\x5a\x00\x00\x00\x00\x00\x00'
cdef bytes S4_REJECTED = b'\x00\x5b\x00\x00\x00\x00\x00\x00'


cdef class SocksServer:
    """The server side of a SOCKS handshake. feed() returns SOCKS_NEED_MORE, SOCKS_CHECK_AUTH (user and password are
    read: answer with accept_auth()), SOCKS_CHECK_CONNECT (version, host, port and user are read: answer with
    accept_connect()) or SOCKS_FAILED (error says why). What to send the client is in take_output(); after a
    successful CONNECT, the bytes that followed the request are in take_rest(). With require_auth, SOCKS5 clients must
    log in with a username and password and SOCKS4 clients, which cannot send a password, are refused."""

    def __init__(self, bint require_auth=False):
        self.buf = bytearray()
        self.out = bytearray()
        self.require_auth = require_auth
        self.port = 0

    cpdef int feed(self, bytes data):
        if self.state == SS_FAILED:
            return SOCKS_FAILED
        if self.buf is None:
            return SOCKS_NEED_MORE
        self.buf += data
        return self.step()

    cdef int step(self):
        cdef int r, was
        while True:
            was = self.state
            if self.state == SS_GREETING:
                r = self.read_greeting()
            elif self.state == SS_AUTH:
                r = self.read_auth()
            elif self.state == SS_REQUEST:
                r = self.read_request5() if self.version == 5 else self.read_request4()
            elif self.state == SS_FAILED:
                return SOCKS_FAILED
            else:
                return SOCKS_NEED_MORE          # waiting for the owner's decision: what comes meanwhile is kept
            if r != SOCKS_NEED_MORE or self.state == was:
                return r                        # a decision to make, or more bytes needed

    cdef int read_greeting(self):
        if len(self.buf) < 2:
            if self.buf and self.buf[0] not in (4, 5):
                return self.fail('not a SOCKS greeting (first byte 0x%02x)' % self.buf[0], None)
            return SOCKS_NEED_MORE
        ver = self.buf[0]
        if ver == 4:
            self.version = 4
            self.state = SS_REQUEST
            return SOCKS_NEED_MORE
        if ver != 5:
            return self.fail('not a SOCKS greeting (first byte 0x%02x)' % ver, None)
        n = self.buf[1]
        if n == 0:
            return self.fail('SOCKS5 greeting offers no method', S5_NO_METHOD)
        if len(self.buf) < 2 + n:
            return SOCKS_NEED_MORE
        methods = bytes(self.buf[2:2 + n])
        del self.buf[:2 + n]
        self.version = 5
        if self.require_auth:
            if 2 not in methods:
                return self.fail('SOCKS5 client offers no username/password login, which is required', S5_NO_METHOD)
            self.out += b'\x05\x02'
            self.state = SS_AUTH
        else:
            if 0 not in methods:
                return self.fail('SOCKS5 client offers no method this server accepts (%s)' % methods.hex(),
                                 S5_NO_METHOD)
            self.out += b'\x05\x00'
            self.state = SS_REQUEST
        return SOCKS_NEED_MORE

    cdef int read_auth(self):
        cdef Py_ssize_t n = len(self.buf)
        if n < 2:
            return SOCKS_NEED_MORE
        if self.buf[0] != 1:
            return self.fail('SOCKS5 login of version %d, not 1' % self.buf[0], b'\x01\x01')
        ulen = self.buf[1]
        if n < 3 + ulen:
            return SOCKS_NEED_MORE
        plen = self.buf[2 + ulen]
        if n < 3 + ulen + plen:
            return SOCKS_NEED_MORE
        self.user = self.buf[2:2 + ulen].decode('utf-8', 'replace')
        self.password = self.buf[3 + ulen:3 + ulen + plen].decode('utf-8', 'replace')
        del self.buf[:3 + ulen + plen]
        self.state = SS_AUTH_CHECK
        return SOCKS_CHECK_AUTH

    cpdef int accept_auth(self, bint ok):
        """The owner's answer to SOCKS_CHECK_AUTH; returns what feed() would for the bytes already held."""
        if self.state != SS_AUTH_CHECK:
            raise RuntimeError('accept_auth() without SOCKS_CHECK_AUTH')
        self.password = None                   # no longer needed: not kept around
        if not ok:
            return self.fail('wrong username or password for %r' % self.user, b'\x01\x01')
        self.out += b'\x01\x00'
        self.state = SS_REQUEST
        return self.step()

    cdef int read_request5(self):
        cdef Py_ssize_t n = len(self.buf), need
        if n < 5:
            return SOCKS_NEED_MORE
        if self.buf[0] != 5:
            return self.fail('SOCKS5 request of version %d' % self.buf[0], S5_GENERAL_FAILURE)
        cmd, atyp = self.buf[1], self.buf[3]
        if atyp == 1:
            need = 4 + 4 + 2
        elif atyp == 4:
            need = 4 + 16 + 2
        elif atyp == 3:
            need = 5 + self.buf[4] + 2
            if self.buf[4] == 0:
                return self.fail('SOCKS5 request with an empty host name', S5_GENERAL_FAILURE)
        else:
            return self.fail('SOCKS5 request with address type %d' % atyp, S5_ADDRESS_NOT_SUPPORTED)
        if cmd != 1:
            return self.fail('SOCKS5 command %d is not supported (CONNECT only)' % cmd, S5_COMMAND_NOT_SUPPORTED)
        if n < need:
            return SOCKS_NEED_MORE
        if atyp == 1:
            self.host = str(_ipaddress.IPv4Address(bytes(self.buf[4:8])))
        elif atyp == 4:
            self.host = str(_ipaddress.IPv6Address(bytes(self.buf[4:20])))
        else:
            try:
                self.host = self.buf[5:5 + self.buf[4]].decode('ascii')
            except UnicodeDecodeError:
                return self.fail('SOCKS5 request with a host name that is not ASCII', S5_GENERAL_FAILURE)
        self.port = (self.buf[need - 2] << 8) | self.buf[need - 1]
        del self.buf[:need]
        self.state = SS_CONNECT_CHECK
        return SOCKS_CHECK_CONNECT

    cdef int read_request4(self):
        # VN CD DSTPORT(2) DSTIP(4) USERID NUL, and for 4a (DSTIP 0.0.0.x, x != 0) HOST NUL after it.
        cdef Py_ssize_t n = len(self.buf), end, hend
        if n < 9:
            return SOCKS_NEED_MORE
        cmd = self.buf[1]
        if cmd != 1:
            return self.fail('SOCKS4 command %d is not supported (CONNECT only)' % cmd, S4_REJECTED)
        end = self.buf.find(b'\0', 8)
        if end < 0:
            if n > 8 + 255:
                return self.fail('SOCKS4 user id longer than 255 bytes', S4_REJECTED)
            return SOCKS_NEED_MORE
        ip = bytes(self.buf[4:8])
        self.port = (self.buf[2] << 8) | self.buf[3]
        self.user = self.buf[8:end].decode('utf-8', 'replace') or None
        if ip[:3] == b'\0\0\0' and ip[3] != 0:
            hend = self.buf.find(b'\0', end + 1)
            if hend < 0:
                if n > end + 1 + 255:
                    return self.fail('SOCKS4a host name longer than 255 bytes', S4_REJECTED)
                return SOCKS_NEED_MORE
            try:
                self.host = self.buf[end + 1:hend].decode('ascii')
            except UnicodeDecodeError:
                return self.fail('SOCKS4a host name that is not ASCII', S4_REJECTED)
            if not self.host:
                return self.fail('SOCKS4a request with an empty host name', S4_REJECTED)
            end = hend
        else:
            self.host = str(_ipaddress.IPv4Address(ip))
        del self.buf[:end + 1]
        if self.require_auth:
            return self.fail('SOCKS4 cannot log in with a password, which is required', S4_REJECTED)
        self.state = SS_CONNECT_CHECK
        return SOCKS_CHECK_CONNECT

    cpdef int accept_connect(self, bint ok):
        """The owner's answer to SOCKS_CHECK_CONNECT: SOCKS_DONE, or SOCKS_FAILED when refused."""
        if self.state != SS_CONNECT_CHECK:
            raise RuntimeError('accept_connect() without SOCKS_CHECK_CONNECT')
        if not ok:
            return self.fail('CONNECT to %s:%d not allowed' % (self.host, self.port),
                             S5_NOT_ALLOWED if self.version == 5 else S4_REJECTED)
        self.out += S5_SUCCEEDED if self.version == 5 else S4_GRANTED
        self.state = SS_DONE
        return SOCKS_DONE

    cdef int fail(self, str why, bytes reply):
        self.state = SS_FAILED
        self.error = why
        self.buf = None
        if reply is not None:
            self.out += reply
        return SOCKS_FAILED

    cpdef bytes take_output(self):
        b = bytes(self.out)
        self.out.clear()
        return b

    cpdef bytes take_rest(self):
        b = bytes(self.buf) if self.buf is not None else b''
        self.buf = None
        return b


cdef enum SocksClientState:
    SC_IDLE = 0
    SC_METHOD = 1                      # greeting sent, waiting for the chosen method
    SC_AUTH = 2                        # login sent
    SC_REPLY = 3                       # CONNECT sent
    SC_DONE = 4
    SC_FAILED = 5

cdef dict S5_REPLY_TEXT = {
    1: 'general failure', 2: 'connection not allowed by ruleset', 3: 'network unreachable', 4: 'host unreachable',
    5: 'connection refused', 6: 'TTL expired', 7: 'command not supported', 8: 'address type not supported',
}


cdef class SocksClient:
    """The client side of a SOCKS5 CONNECT to host:port, logging in with user and password when given. start()
    returns the greeting; feed() the proxy's bytes returns SOCKS_NEED_MORE, SOCKS_DONE or SOCKS_FAILED (error says
    why); take_output() has what to send next, take_rest() what the proxy sent after its reply."""

    def __init__(self, str host, int port, str user=None, str password=None):
        if not host or len(host.encode('idna' if not host.isascii() else 'ascii')) > 255:
            raise ValueError('SOCKS target host %r: 1 to 255 bytes' % (host,))
        if not 0 < port <= 65535:
            raise ValueError('SOCKS target port %r' % (port,))
        if user is not None and (len(user.encode()) > 255 or len((password or '').encode()) > 255):
            raise ValueError('SOCKS username and password: up to 255 bytes each')
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.buf = bytearray()
        self.out = bytearray()

    cpdef bytes start(self):
        self.state = SC_METHOD
        return b'\x05\x01\x02' if self.user is not None else b'\x05\x01\x00'

    cdef bytes request(self):
        try:
            a = _ipaddress.ip_address(self.host)
            addr = (b'\x01' if a.version == 4 else b'\x04') + a.packed
        except ValueError:
            h = self.host.encode('idna' if not self.host.isascii() else 'ascii')
            addr = b'\x03' + bytes((len(h),)) + h
        return b'\x05\x01\x00' + addr + _struct.pack('!H', self.port)

    cpdef int feed(self, bytes data):
        cdef Py_ssize_t need
        if self.state == SC_FAILED:
            return SOCKS_FAILED
        if self.state == SC_DONE:
            return SOCKS_DONE
        self.buf += data
        while True:
            if self.state == SC_METHOD:
                if len(self.buf) < 2:
                    return SOCKS_NEED_MORE
                if self.buf[0] != 5:
                    return self.fail('the proxy does not speak SOCKS5')
                m = self.buf[1]
                del self.buf[:2]
                if m == 0 and self.user is None:
                    self.out += self.request()
                    self.state = SC_REPLY
                elif m == 2 and self.user is not None:
                    u, p = self.user.encode(), (self.password or '').encode()
                    self.out += bytes((1, len(u))) + u + bytes((len(p),)) + p
                    self.state = SC_AUTH
                else:
                    return self.fail('the proxy accepts none of our login methods' if m == 0xff
                                     else 'the proxy chose login method %d, which we did not offer' % m)
            elif self.state == SC_AUTH:
                if len(self.buf) < 2:
                    return SOCKS_NEED_MORE
                if self.buf[1] != 0:
                    return self.fail('the proxy refused username %r' % self.user)
                del self.buf[:2]
                self.out += self.request()
                self.state = SC_REPLY
            elif self.state == SC_REPLY:
                if len(self.buf) < 5:
                    return SOCKS_NEED_MORE
                if self.buf[0] != 5:
                    return self.fail('malformed SOCKS5 reply')
                if self.buf[1] != 0:
                    code = self.buf[1]
                    return self.fail('the proxy answered: %s' % S5_REPLY_TEXT.get(code, 'error %d' % code))
                atyp = self.buf[3]
                if atyp == 1:
                    need = 10
                elif atyp == 4:
                    need = 22
                elif atyp == 3:
                    need = 7 + self.buf[4]
                else:
                    return self.fail('malformed SOCKS5 reply (address type %d)' % atyp)
                if len(self.buf) < need:
                    return SOCKS_NEED_MORE
                del self.buf[:need]
                self.state = SC_DONE
                return SOCKS_DONE
            else:
                return self.fail('feed() before start()')

    cdef int fail(self, str why):
        self.state = SC_FAILED
        self.error = why
        self.buf = None
        return SOCKS_FAILED

    cpdef bytes take_output(self):
        b = bytes(self.out)
        self.out.clear()
        return b

    cpdef bytes take_rest(self):
        b = bytes(self.buf) if self.buf is not None else b''
        self.buf = None
        return b
