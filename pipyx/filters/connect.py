"""connect: the stream's bytes to and from a TCP connection."""
from .._native import Connect, ConnectOptions, ConnectUDP
from ..builder import PipelineBuilder
from ..errors import ScriptError, caller_location


class ConnectMixin(PipelineBuilder):
    def connect(self, target, *, connect_timeout=5.0, read_timeout=60.0, idle_timeout=300.0, buffer_limit=1 << 20,
                protocol='tcp'):
        """Opens a TCP connection to target ('host:port', or a callable returning it, evaluated when the stream
        starts) on the first event; Data goes out to it, what it sends comes out as Data, and its close as StreamEnd
        (with ConnectionRefused, ConnectionTimeout, ReadTimeout, IdleTimeout, ... when it fails).

        connect_timeout: to establish the connection. read_timeout: while the peer owes an answer (from a send until
        it replies; under mux_http, until the whole response is in), the longest wait for its next byte. idle_timeout: the longest time with no traffic either way. buffer_limit: bytes held
        while connecting before the sender is paused. 0 turns a timeout off.

        protocol='udp': a UDP socket connected to target instead. Each message the stream sends is one datagram, and
        each datagram that comes back is output as one message; idle_timeout ends the stream (IdleTimeout) after no
        datagram either way, a closed port ends it with ConnectionRefused, and buffer_limit caps the datagrams held
        while the socket is being made (more are dropped). read_timeout does not apply.
        """
        if protocol == 'udp':
            return self.append(ConnectUDP(target, ConnectOptions(connect_timeout, read_timeout, idle_timeout,
                                                                 buffer_limit)))
        if protocol != 'tcp':
            raise ScriptError("connect(): protocol is 'tcp' or 'udp', not %r" % (protocol,), *caller_location())
        return self.append(Connect(target, ConnectOptions(connect_timeout, read_timeout, idle_timeout, buffer_limit)))
