"""Targets for the L4 balancing tests, in threads of the test process: TCP and UDP servers that answer with their
name (which target a balancer chose), one that refuses (a closed port) and one that never answers a SYN (a black
hole: its accept queue is full)."""
import socket
import threading


class NamedTcpTarget:
    """Sends its name as soon as a connection is accepted, then holds the connection open until the client closes
    it, echoing nothing: a balancer's open connections stay open as long as the test wants."""

    def __init__(self, name):
        self.name = name.encode()
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.address = '127.0.0.1:%d' % self.port
        self.stopped = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            threading.Thread(target=self.hold, args=(conn,), daemon=True).start()

    def hold(self, conn):
        with conn:
            conn.settimeout(10)
            try:
                conn.sendall(self.name)
                while conn.recv(4096):
                    pass
            except OSError:
                pass

    def stop(self):
        self.stopped = True
        self.thread.join(2)
        self.sock.close()


class NamedUdpTarget:
    """Answers each datagram with its name."""

    def __init__(self, name):
        self.name = name.encode()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.address = '127.0.0.1:%d' % self.port
        self.received = []
        self.stopped = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stopped:
            try:
                data, peer = self.sock.recvfrom(65535)
            except (socket.timeout, OSError):
                continue
            self.received.append(data)
            try:
                self.sock.sendto(self.name, peer)
            except OSError:
                pass

    def stop(self):
        self.stopped = True
        self.thread.join(2)
        self.sock.close()


def refused_address():
    """A 127.0.0.1 port nothing listens on: a connection to it is refused at once."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return '127.0.0.1:%d' % s.getsockname()[1]


class BlackHole:
    """A listening socket whose accept queue is full and never accepted from: the kernel drops further SYNs, so a
    connection to it neither succeeds nor is refused until the connector gives up."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.address = '127.0.0.1:%d' % self.port
        self.fillers = []
        for _ in range(2):
            c = socket.socket()
            c.setblocking(False)
            try:
                c.connect(('127.0.0.1', self.port))
            except BlockingIOError:
                pass
            self.fillers.append(c)

    def stop(self):
        for c in self.fillers:
            c.close()
        self.sock.close()


def ask_name(port, source='127.0.0.1', timeout=5.0):
    """Connects to pipyx on port (from source), and returns (the target's name, the open socket)."""
    s = socket.create_connection(('127.0.0.1', port), timeout=timeout, source_address=(source, 0))
    got = s.recv(100)
    return got.decode(), s


def name_of(port, source='127.0.0.1', timeout=5.0):
    name, s = ask_name(port, source, timeout)
    s.close()
    return name
