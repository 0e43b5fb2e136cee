"""Upstreams that misbehave on cue: an HTTP/1.1 server on 127.0.0.1, in a thread of the test process, that records
every request it receives (so a test can count them) and treats each as its behaviour says: answer, stay silent,
close, send a status line and stall, send half a body and stall.

Requests are read the way a server must (Content-Length or chunked), so what is recorded is what reached the
upstream, byte for byte.
"""
import socket
import threading
import time


class Received:
    """One request as the upstream read it."""

    def __init__(self, conn_id, head, body, at):
        self.conn_id, self.raw_head, self.body, self.at = conn_id, head, body, at
        line, *fields = head.decode('latin-1').split('\r\n')
        self.method, self.path, _ = line.split(' ', 2)
        self.headers = {}
        for f in fields:
            if f:
                k, _, v = f.partition(':')
                self.headers[k.strip().lower()] = v.strip()

    def __repr__(self):
        return '<%s %s on connection %d, %d body bytes>' % (self.method, self.path, self.conn_id, len(self.body))


def answer(body=b'ok', status=200, close=False):
    """The behaviour of a sound upstream."""
    def act(conn, req):
        head = 'HTTP/1.1 %d OK\r\ncontent-length: %d\r\n%s\r\n' % (status, len(body),
                                                                   'connection: close\r\n' if close else '')
        conn.sendall(head.encode() + body)
        return not close
    return act


def silent(conn, req):
    """Reads the request and never answers (the connection stays open until the upstream stops)."""
    return 'hold'


def close_after_reading(conn, req):
    """Reads the whole request, then closes: the request reached the upstream and got no answer."""
    return False


def status_line_then_stall(conn, req):
    conn.sendall(b'HTTP/1.1 200 OK\r\n')
    return 'hold'


def half_body_then_stall(conn, req):
    conn.sendall(b'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n' + b'x' * 10)
    return 'hold'


def refuse_at_head(conn, req):
    """Answers 413 as soon as the head is in, without reading the body, and keeps the connection (it holds it until
    the peer closes it, counting that in `closed`)."""
    conn.sendall(b'HTTP/1.1 413 Too Large\r\ncontent-length: 0\r\n\r\n')
    return 'drain'


refuse_at_head.at_head = True


def echo_length(conn, req):
    """Answers with how many body bytes arrived and how they were framed."""
    framing = 'length' if 'content-length' in req.headers else (
        'chunked' if 'chunked' in req.headers.get('transfer-encoding', '') else 'none')
    body = ('%d %s' % (len(req.body), framing)).encode()
    conn.sendall(b'HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s' % (len(body), body))
    return True


class ScriptedUpstream:
    """Listens on a free port of 127.0.0.1. behaviour(req) (or a dict path -> behaviour, with 'default') picks what
    an act does with each request: an act(conn, req) returns True to read the next request on the connection, False
    to close it, 'hold' to keep it open and silent until stop()."""

    def __init__(self, behaviour):
        self.behaviour = behaviour
        self.received = []
        self.connections = 0
        self.closed = 0                 # connections of at_head behaviours that the peer closed
        self.lock = threading.Lock()
        self.held = []
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(('127.0.0.1', 0))
        self.listener.listen(512)
        self.port = self.listener.getsockname()[1]
        self.address = '127.0.0.1:%d' % self.port
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def act_for(self, req):
        b = self.behaviour
        if isinstance(b, dict):
            return b.get(req.path, b.get('default', answer()))
        return b

    def requests(self, method=None, path=None):
        with self.lock:
            return [r for r in self.received if (method is None or r.method == method) and
                    (path is None or r.path == path)]

    def _accept(self):
        while not self.stopped:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                n = self.connections
            threading.Thread(target=self._serve, args=(conn, n), daemon=True).start()

    def _serve(self, conn, conn_id):
        buf = b''
        try:
            while not self.stopped:
                head, buf = _read_until(conn, buf, b'\r\n\r\n')
                if head is None:
                    return
                req_head = head[:-4]
                fields = req_head.lower()
                early = self.act_for(Received(conn_id, req_head, b'', time.monotonic()))
                if getattr(early, 'at_head', False):
                    req = Received(conn_id, req_head, b'', time.monotonic())
                    with self.lock:
                        self.received.append(req)
                    early(conn, req)
                    while _recv(conn):
                        pass                # read and drop until the peer closes
                    with self.lock:
                        self.closed += 1
                    return
                if b'transfer-encoding: chunked' in fields:
                    body, buf = _read_chunked(conn, buf)
                else:
                    length = 0
                    for line in fields.split(b'\r\n')[1:]:
                        if line.startswith(b'content-length:'):
                            length = int(line.split(b':', 1)[1])
                    body, buf = _read_exact(conn, buf, length)
                if body is None:
                    return
                req = Received(conn_id, req_head, body, time.monotonic())
                with self.lock:
                    self.received.append(req)
                what = self.act_for(req)(conn, req)
                if what == 'hold':
                    with self.lock:
                        self.held.append(conn)
                    conn = None
                    return
                if not what:
                    return
        except OSError:
            return
        finally:
            if conn is not None:
                conn.close()

    def stop(self):
        self.stopped = True
        self.listener.close()
        with self.lock:
            held, self.held = self.held, []
        for c in held:
            c.close()


def _recv(conn):
    try:
        return conn.recv(65536)
    except OSError:
        return b''


def _read_until(conn, buf, marker):
    while marker not in buf:
        b = _recv(conn)
        if not b:
            return None, buf
        buf += b
    i = buf.index(marker) + len(marker)
    return buf[:i], buf[i:]


def _read_exact(conn, buf, n):
    pieces, have = [buf], len(buf)
    while have < n:
        b = _recv(conn)
        if not b:
            return None, b''
        pieces.append(b)
        have += len(b)
    data = b''.join(pieces)
    return data[:n], data[n:]


def _read_chunked(conn, buf):
    body = []
    while True:
        line, buf = _read_until(conn, buf, b'\r\n')
        if line is None:
            return None, b''
        size = int(line.split(b';')[0], 16)
        if size == 0:
            trailer, buf = _read_until(conn, buf, b'\r\n') if not buf.startswith(b'\r\n') else (b'\r\n', buf[2:])
            return b''.join(body), buf
        data, buf = _read_exact(conn, buf, size + 2)
        if data is None:
            return None, b''
        body.append(data[:-2])
