"""Clients of a server under test: a raw socket that sends bytes exactly as given and parses HTTP/1.x answers
itself, and http.client for the view of an independent implementation."""
import http.client
import socket
import time


class ClosedByPeer(EOFError, ConnectionError):
    """The peer closed the connection before the answer was complete: an end of input for code that reads a
    stream, a connection error for code that makes a request."""


def req(path, method='GET', headers=(), body=b'', version='HTTP/1.1', host=True):
    """The bytes of one request; a body without a Content-Length or Transfer-Encoding among the headers is given a
    Content-Length."""
    lines = ['%s %s %s' % (method, path, version)]
    if host:
        lines.append('Host: localhost')
    lines += ['%s: %s' % kv for kv in headers]
    if body and not any(k.lower() in ('content-length', 'transfer-encoding') for k, _ in headers):
        lines.append('Content-Length: %d' % len(body))
    return ('\r\n'.join(lines) + '\r\n\r\n').encode('latin-1') + body


class Response:
    def __init__(self, status, reason, version, headers, body, raw_head, chunked):
        self.status = status
        self.reason = reason
        self.version = version
        self.headers = headers          # list of (lower-case name, value)
        self.body = body
        self.raw_head = raw_head
        self.chunked = chunked

    @property
    def text(self):
        return self.body.decode('utf-8', 'replace')

    def header(self, name, default=None):
        vals = [v for k, v in self.headers if k == name.lower()]
        return ', '.join(vals) if vals else default

    def has(self, name):
        return any(k == name.lower() for k, _ in self.headers)

    def __repr__(self):
        return 'Response(%d, %r, body=%d bytes)' % (self.status, self.headers, len(self.body))


class RawClient:
    """A TCP connection to host:port that sends bytes exactly as given, so that a test knows for sure what went on
    the wire and on which socket; it reads HTTP/1.x responses itself (a subclass may read another protocol)."""

    def __init__(self, port, timeout=5.0, rcvbuf=None, host='127.0.0.1'):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.buf = b''
        self.timeout = timeout

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        if isinstance(data, str):
            data = data.encode('latin-1')
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ClosedByPeer('connection closed by peer; buffered %r' % self.buf[:200])
        self.buf += chunk

    def _read_until(self, marker):
        deadline = time.monotonic() + self.timeout
        while marker not in self.buf:
            if time.monotonic() > deadline:
                raise TimeoutError('no %r in %r' % (marker, self.buf[:200]))
            self._fill()
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def _read_exact(self, n):
        # The pieces are joined once at the end: appending each to the buffer would copy a large body over and over.
        deadline = time.monotonic() + self.timeout
        pieces, have = [self.buf], len(self.buf)
        try:
            while have < n:
                if time.monotonic() > deadline:
                    raise TimeoutError('wanted %d bytes, have %d' % (n, have))
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ClosedByPeer('connection closed by peer after %d of %d bytes' % (have, n))
                pieces.append(chunk)
                have += len(chunk)
        finally:
            self.buf = b''.join(pieces)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_head(self):
        raw = self._read_until(b'\r\n\r\n')
        lines = raw.decode('latin-1').split('\r\n')
        version, _, rest = lines[0].partition(' ')
        code, _, reason = rest.partition(' ')
        headers = []
        for ln in lines[1:]:
            if not ln:
                continue
            k, _, v = ln.partition(':')
            headers.append((k.strip().lower(), v.strip()))
        return version, int(code), reason, headers, raw

    def read_response(self, head_request=False, allow_interim=False):
        """Reads one response (skipping 1xx interim ones unless allow_interim). The body is framed by
        Content-Length, chunked encoding, or the end of the connection."""
        while True:
            version, status, reason, headers, raw = self.read_head()
            if 100 <= status < 200 and not allow_interim:
                continue
            break
        hmap = {}
        for k, v in headers:
            hmap.setdefault(k, v)
        body = b''
        chunked = 'chunked' in hmap.get('transfer-encoding', '').lower()
        if head_request or status < 200 or status in (204, 304):
            pass
        elif chunked:
            parts = []
            while True:
                line = self._read_until(b'\r\n')
                size = int(line.split(b';')[0].strip(), 16)
                if size == 0:
                    while self._read_until(b'\r\n') != b'\r\n':
                        pass
                    break
                parts.append(self._read_exact(size))
                assert self._read_exact(2) == b'\r\n', 'chunk not followed by CRLF'
            body = b''.join(parts)
        elif 'content-length' in hmap:
            body = self._read_exact(int(hmap['content-length']))
        else:
            body = self.read_to_close()
        return Response(status, reason, version, headers, body, raw, chunked)

    def get(self, path='/', headers=''):
        """GET path on this connection (headers: more header lines, each ending with CRLF): (status, body text)."""
        self.send('GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n' % (path, headers))
        r = self.read_response()
        return r.status, r.text

    def read_to_close(self, limit=64 << 20):
        deadline = time.monotonic() + self.timeout
        pieces, have = [self.buf], len(self.buf)
        try:
            while have < limit:
                if time.monotonic() > deadline:
                    raise TimeoutError('connection not closed; buffered %r' % b''.join(pieces[:4])[:200])
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                pieces.append(chunk)
                have += len(chunk)
        finally:
            self.buf = b''.join(pieces)
        out, self.buf = self.buf, b''
        return out

    def is_closed(self, timeout=2.0):
        """True when the peer closes (recv gives b'' or a reset) within timeout with no further bytes."""
        self.sock.settimeout(timeout)
        try:
            extra = self.sock.recv(65536)
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False
        finally:
            self.sock.settimeout(self.timeout)
        if extra:
            self.buf += extra
            return False
        return not self.buf

    def nothing_pending(self, wait=0.2):
        """True when no bytes arrive within wait seconds (the connection may stay open)."""
        self.sock.settimeout(wait)
        try:
            extra = self.sock.recv(65536)
        except socket.timeout:
            return not self.buf
        except ConnectionResetError:
            return False
        finally:
            self.sock.settimeout(self.timeout)
        self.buf += extra
        return False


def simple_request(port, path='/', method='GET', headers=None, body=None, timeout=5.0):
    """One request on a fresh connection; returns the Response."""
    hs = {'Host': 'localhost'}
    hs.update(headers or {})
    if body is not None and 'Content-Length' not in hs and 'Transfer-Encoding' not in hs:
        hs['Content-Length'] = str(len(body))
    head = '%s %s HTTP/1.1\r\n' % (method, path) + ''.join('%s: %s\r\n' % kv for kv in hs.items()) + '\r\n'
    with RawClient(port, timeout) as c:
        c.send(head.encode('latin-1') + (body or b''))
        return c.read_response(head_request=(method == 'HEAD'))


def get(port, path='/', timeout=5.0):
    """GET path on a new connection, closed after the answer: (status, body text)."""
    r = simple_request(port, path, headers={'Host': '127.0.0.1', 'Connection': 'close'}, timeout=timeout)
    return r.status, r.text


def answer(port, path='/', timeout=2.0):
    """The body of GET path as text, whatever the status; None while nothing answers on port."""
    try:
        return get(port, path, timeout)[1]
    except OSError:
        return None


def request(port, path='/', method='GET', body=None, headers=None, conn=None, timeout=5.0, tls=None):
    """One request with http.client; on a new connection unless conn is given, over TLS with the ssl context tls.
    Returns (status, headers with lower-case names, body bytes)."""
    if conn is not None:
        c = conn
    elif tls is not None:
        c = http.client.HTTPSConnection('127.0.0.1', port, timeout=timeout, context=tls)
    else:
        c = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        if conn is None:
            c.close()
