"""What a script can ask of the process running it, as Pipy's pipy.* functions: the arguments after `--` (argv), the
files of its codebase (load), a reload (restart), a stop (exit), which worker it is (worker_index), and the
connections open now (inbound, outbound)."""
import os
import signal
import socket
import struct
import time

from . import program as _program
from ._native import Data, outbound_connections

# The words after `--` on the command line: `pipyx main.py -- a b` gives ['a', 'b']. The command fills this list in
# place before the script loads, so `from pipyx import argv` sees it too.
argv = []

# Which of the --workers N processes this is (0 to N-1); 0 without --workers.
worker_index = int(os.environ.get('PIPYX_WORKER_INDEX', '0') or 0)

_worker = None                   # the Worker of this process, once it runs
_root = None                     # the directory of the version running now


def attach(worker, root):
    """Called by the worker when it runs a version: what restart(), exit() and load() act on."""
    global _worker, _root
    _worker = worker
    _root = root


def codebase_root():
    """The directory load() and watch() paths are relative to: the script being loaded's, else the running one's."""
    loading = _program.current_program()
    if loading is not None and loading.entry is not None:
        return loading.root
    return _root if _root is not None else os.getcwd()


def load(path):
    """The content of a file of the codebase as a Data, or None when there is no such file. path is relative to the
    codebase's directory (the directory of the main script: for a codebase run from a repo, the version downloaded);
    a leading '/' means the same. A path that leaves the codebase raises ValueError."""
    root = os.path.realpath(codebase_root())
    full = os.path.realpath(os.path.join(root, path.lstrip('/')))
    if full != root and not full.startswith(root + os.sep):
        raise ValueError('load(): %r is outside the codebase' % path)
    try:
        with open(full, 'rb') as f:
            return Data(f.read())
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def _parent_of_workers():
    # With --workers N, a stop or a reload asked for by one worker is one for them all: the parent passes it on.
    return os.environ.get('PIPYX_WORKERS_PARENT') == str(os.getppid())


def restart():
    """Loads the script again and switches to it, as SIGHUP does (with --workers, in every worker). Returns at once;
    a version that fails to load is logged and the running one stays."""
    if _parent_of_workers():
        os.kill(os.getppid(), signal.SIGHUP)
        return
    if _worker is None:
        raise RuntimeError('restart(): pipyx is not running a script')
    _worker.loop.call_soon(lambda: _worker.loop.create_task(_worker.reload()))


def exit(code=0):
    """Stops pipyx as SIGTERM does (exit() pipelines run, requests in flight finish) and makes code its exit status.
    With --workers, every worker stops and the parent exits with code."""
    if not isinstance(code, int) or isinstance(code, bool) or not 0 <= code <= 255:
        raise ValueError('exit(): the code is an int from 0 to 255, not %r' % (code,))
    if _worker is None:
        raise RuntimeError('exit(): pipyx is not running a script')
    if _parent_of_workers():
        # The parent's SIGTERM, passed on to every worker, stops this one too.
        _worker.exit_code = code
        os.kill(os.getppid(), signal.SIGTERM)
    else:
        _worker.exit(code)


class ConnectionInfo:
    """One connection open now: its addresses, the bytes it carried (as the kernel counts them: received, and sent
    and acknowledged by the peer; for a UDP socket, the datagrams' bytes received and sent), its age in seconds and
    its protocol ('tcp' or 'udp')."""
    __slots__ = ('local_address', 'local_port', 'remote_address', 'remote_port', 'bytes_in', 'bytes_out',
                 'opened_at', 'age', 'protocol')

    def __init__(self, local, remote, bytes_in, bytes_out, opened_at, protocol='tcp'):
        self.protocol = protocol
        self.local_address, self.local_port = (local[0], local[1]) if local else (None, None)
        self.remote_address, self.remote_port = (remote[0], remote[1]) if remote else (None, None)
        self.bytes_in, self.bytes_out = bytes_in, bytes_out
        self.opened_at = opened_at
        self.age = max(0.0, time.time() - opened_at)

    def __repr__(self):
        return '<connection %s:%s -> %s:%s in=%s out=%s age=%.1fs>' % (
            self.local_address, self.local_port, self.remote_address, self.remote_port, self.bytes_in,
            self.bytes_out, self.age)


# struct tcp_info (linux/tcp.h): tcpi_bytes_acked and tcpi_bytes_received, two u64 at offsets 120 and 128 (since
# Linux 4.1/4.2). The kernel keeps these counts anyway, so listing costs nothing per read or write.
_TCP_INFO_BYTES = struct.Struct('=QQ')
_TCP_INFO_OFFSET = 120


def _tcp_bytes(sock):
    try:
        raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    except (OSError, AttributeError, ValueError):
        return None, None
    if len(raw) < _TCP_INFO_OFFSET + _TCP_INFO_BYTES.size:
        return None, None
    acked, received = _TCP_INFO_BYTES.unpack_from(raw, _TCP_INFO_OFFSET)
    return received, acked


def _describe(endpoint):
    info = endpoint.connection_info()
    if info is None:
        return None
    transport, opened_at = info
    try:
        local, remote = transport.get_extra_info('sockname'), transport.get_extra_info('peername')
        sock = transport.get_extra_info('socket')
    except Exception:            # the transport closed since: leave it out
        return None
    if hasattr(endpoint, 'datagram_bytes'):
        bytes_in, bytes_out = endpoint.datagram_bytes()
        protocol = 'udp'
    else:
        bytes_in, bytes_out = _tcp_bytes(sock) if sock is not None else (None, None)
        protocol = 'tcp'
    return ConnectionInfo(local, remote, bytes_in, bytes_out, opened_at, protocol)


def inbound():
    """The accepted connections open now, on every port this worker listens on, as ConnectionInfo."""
    if _worker is None:
        return []
    found = []
    for state in _worker.listener_states():
        for c in list(state.connections):
            d = _describe(c)
            if d is not None:
                found.append(d)
    return found


def outbound():
    """The connections connect() has open now, as ConnectionInfo."""
    return [d for d in map(_describe, outbound_connections()) if d is not None]
