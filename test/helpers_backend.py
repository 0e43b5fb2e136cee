"""Shared by the HTTP tests: the `backend` fixture (test/backend.py as a subprocess) and a raw-socket HTTP/1.x
client that sees exact bytes."""
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import free_port, stop_process, wait_port

HERE = os.path.dirname(os.path.abspath(__file__))


class Backend:
    """test/backend.py running on a free port; its output goes to a temporary log file."""

    def __init__(self):
        self.port = free_port()
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, 'backend.py'), str(self.port)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        if not wait_port(self.port, 10.0, self.proc):
            self.stop()
            raise AssertionError('backend.py did not start on %d' % self.port)

    def output(self):
        self.log.seek(0)
        return self.log.read().decode('utf-8', 'replace')

    def stop(self):
        stop_process(self.proc)


@pytest.fixture
def backend():
    """Starts test/backend.py on a free port; yields the port; stops it (by its pid) afterwards."""
    b = Backend()
    try:
        yield b.port
    finally:
        b.stop()
        b.log.close()


def big_pattern(offset, n):
    """The bytes backend.py's /big/<n> sends at [offset, offset + n)."""
    alpha = b'abcdefghijklmnopqrstuvwxyz'
    start = offset % 26
    reps = (start + n) // 26 + 1
    return (alpha * reps)[start:start + n]


class Response:
    def __init__(self, status, reason, version, headers, body, raw_head, chunked):
        self.status = status
        self.reason = reason
        self.version = version
        self.headers = headers          # list of (lower-case name, value)
        self.body = body
        self.raw_head = raw_head
        self.chunked = chunked

    def header(self, name, default=None):
        vals = [v for k, v in self.headers if k == name.lower()]
        return ', '.join(vals) if vals else default

    def has(self, name):
        return any(k == name.lower() for k, _ in self.headers)

    def __repr__(self):
        return 'Response(%d, %r, body=%d bytes)' % (self.status, self.headers, len(self.body))


class RawClient:
    """A TCP connection to 127.0.0.1:port that sends bytes exactly as given and parses the responses."""

    def __init__(self, port, timeout=5.0, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(('127.0.0.1', port))
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
            raise EOFError('connection closed by peer; buffered %r' % self.buf[:200])
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
        deadline = time.monotonic() + self.timeout
        while len(self.buf) < n:
            if time.monotonic() > deadline:
                raise TimeoutError('wanted %d bytes, have %d' % (n, len(self.buf)))
            self._fill()
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

    def read_to_close(self, limit=64 << 20):
        deadline = time.monotonic() + self.timeout
        while len(self.buf) < limit:
            if time.monotonic() > deadline:
                raise TimeoutError('connection not closed; buffered %r' % self.buf[:200])
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.buf += chunk
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
    req = '%s %s HTTP/1.1\r\n' % (method, path) + ''.join('%s: %s\r\n' % kv for kv in hs.items()) + '\r\n'
    with RawClient(port, timeout) as c:
        c.send(req.encode('latin-1') + (body or b''))
        return c.read_response(head_request=(method == 'HEAD'))


def vm_rss_kb(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    raise AssertionError('no VmRSS for %d' % pid)


def request(port, path='/', method='GET', body=None, headers=None, conn=None):
    """One request; on a new connection unless conn is given. Returns (status, headers, body bytes)."""
    c = conn or http.client.HTTPConnection('127.0.0.1', port, timeout=5)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        if conn is None:
            c.close()
