"""Ports on 127.0.0.1: a free one, whether one listens, and the connections one has accepted.

Listening and established sockets are read from /proc/net/tcp{,6}: a probe connection would be a client of its own
to the server under test (and a proxy carries a new connection on at once).
"""
import socket
import time

LISTEN = '0A'
ESTABLISHED = '01'


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def listening(port):
    """Whether some socket listens on TCP `port`."""
    for name in ('/proc/net/tcp', '/proc/net/tcp6'):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == LISTEN and int(fields[1].rsplit(':', 1)[1], 16) == port:
                        return True
        except FileNotFoundError:
            continue
    return False


def wait_port(port, timeout=10.0, proc=None):
    """Whether `port` listens within timeout seconds; False at once if proc (a Popen) has exited meanwhile."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        if listening(port):
            return True
        time.sleep(0.05)
    return False


def established(*ports):
    """How many established IPv4 TCP connections have each local port on 127.0.0.1 (the ones a listener on it
    accepted): one number for one port, else a list. /proc/net/tcp is read a page at a time, and a connection opened
    or closed meanwhile can make another one appear twice: connections are counted by their remote address, once."""
    local = {'0100007F:%04X' % port: set() for port in ports}
    with open('/proc/net/tcp') as f:
        next(f)
        for line in f:
            _, address, remote, state = line.split(None, 4)[:4]
            if state == ESTABLISHED and address in local:
                local[address].add(remote)
    counts = [len(remotes) for remotes in local.values()]
    return counts[0] if len(ports) == 1 else counts


def refuses(port):
    """Whether a connection to `port` is refused (nothing listens there any more)."""
    try:
        socket.create_connection(('127.0.0.1', port), timeout=0.5).close()
        return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


def closed_within(sock, limit):
    """Seconds until the peer closes sock (EOF or reset), or None if it is still open after limit seconds.
    Bytes that arrive meanwhile are an error: the caller expects silence."""
    t0 = time.monotonic()
    deadline = t0 + limit
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            b = sock.recv(65536)
        except socket.timeout:
            return None
        except ConnectionResetError:
            return time.monotonic() - t0
        if not b:
            return time.monotonic() - t0
        raise AssertionError('unexpected bytes while waiting for a close: %r' % b[:200])
