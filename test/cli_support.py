"""What the CLI tests share: running pipyx to completion, a raw HTTP connection, waiting, and process checks."""
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time


import pipyx
from conftest import ROOT

PACKAGE_DIR = os.path.dirname(os.path.abspath(pipyx.__file__))


# -- helpers ---------------------------------------------------------------------------------------------------------

def run_cli(args, cwd=None, timeout=15, env=None):
    """Runs `python -m pipyx ARGS` to completion; returns the CompletedProcess (text stdout and stderr)."""
    env = dict(os.environ, **(env or {}))
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    return subprocess.run([sys.executable, '-m', 'pipyx'] + list(args), cwd=cwd or ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def write_script(path, text):
    path.write_text(textwrap.dedent(text).lstrip('\n'))
    return path


class RawConn:
    """One client connection speaking HTTP/1.1 by hand, so that a test knows for sure it is the same socket."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(('127.0.0.1', port), timeout=timeout)
        self.buf = b''

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError('closed by the server')
        self.buf += chunk

    def request(self, path='/', headers=''):
        self.sock.sendall(('GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n' % (path, headers)).encode())
        return self.response()

    def response(self):
        while b'\r\n\r\n' not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b'\r\n\r\n', 1)
        lines = head.decode('latin-1').split('\r\n')
        status = int(lines[0].split()[1])
        fields = {}
        for line in lines[1:]:
            k, _, v = line.partition(':')
            fields[k.strip().lower()] = v.strip()
        if fields.get('transfer-encoding', '').lower() == 'chunked':
            body = b''
            while True:
                while b'\r\n' not in self.buf:
                    self._fill()
                size_line, self.buf = self.buf.split(b'\r\n', 1)
                size = int(size_line.split(b';')[0], 16)
                while len(self.buf) < size + 2:
                    self._fill()
                body += self.buf[:size]
                self.buf = self.buf[size + 2:]
                if size == 0:
                    break
        else:
            n = int(fields.get('content-length', '0'))
            while len(self.buf) < n:
                self._fill()
            body, self.buf = self.buf[:n], self.buf[n:]
        return status, body.decode('utf-8', 'replace')

    def closed_by_peer(self, timeout):
        """True when the server closes this (idle) connection within timeout seconds."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b''
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


def get(port, path='/', timeout=5.0):
    """One request on a new connection: (status, body)."""
    c = RawConn(port, timeout)
    try:
        return c.request(path, 'Connection: close\r\n')
    finally:
        c.close()


def assert_no_internals(stderr):
    """An error report for a script's author: no traceback, nothing from inside pipyx."""
    assert 'Traceback' not in stderr, stderr
    assert PACKAGE_DIR not in stderr, stderr
    assert '.pyx' not in stderr, stderr


def wait_for(cond, timeout, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(interval)
    return cond()


def refuses(port):
    try:
        socket.create_connection(('127.0.0.1', port), timeout=0.5).close()
        return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


def children_of(pid):
    """Pids whose parent is pid (read from /proc, no zombies)."""
    out = []
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % name) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(')') + 2:].split()
        if int(fields[1]) == pid and fields[0] != 'Z':
            out.append(int(name))
    return sorted(out)


def two_workers(pid):
    """The two worker pids under pid, from one look at /proc; or None."""
    now = children_of(pid)
    return now if len(now) == 2 else None


def alive(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(')') + 2:].split()[0] != 'Z'


def in_thread(fn, *args):
    """Runs fn(*args) in a thread; returns a function that waits (bounded) and returns its result or exception."""
    result = {}

    def run():
        try:
            result['value'] = fn(*args)
        except BaseException as e:        # reported to the test by outcome()
            result['error'] = e
    t = threading.Thread(target=run, daemon=True)
    t.start()

    def outcome(timeout=10.0):
        t.join(timeout)
        assert not t.is_alive(), 'client thread still running after %gs' % timeout
        return result.get('value', result.get('error'))
    return outcome


HELLO = """
from pipyx import pipy, Message
pipy().listen('127.0.0.1:{port}').serve_http(Message('Hi, there!\\n'))
"""
