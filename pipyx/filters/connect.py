"""connect: the stream's bytes to and from a TCP connection."""
from .._native import Connect, ConnectOptions, ConnectUDP
from ..builder import PipelineBuilder
from ..errors import ScriptError, caller_location


class ConnectMixin(PipelineBuilder):
    def connect(self, target, *, connect_timeout=5.0, read_timeout=60.0, idle_timeout=300.0, buffer_limit=1 << 20,
                write_timeout=0, congestion_limit=0, retry_count=0, retry_delay=0, keep_alive=True, no_delay=True,
                bind=None, on_state=None, protocol='tcp'):
        """Opens a TCP connection to target ('host:port', or a callable returning it, evaluated when the stream
        starts) on the first event; Data goes out to it, what it sends comes out as Data, and its close as StreamEnd
        (with ConnectionRefused, ConnectionTimeout, ReadTimeout, WriteTimeout, IdleTimeout, ... when it fails).

        connect_timeout: to establish the connection. read_timeout: while the peer owes an answer (from a send until
        it replies; under mux_http, until the whole response is in), the longest wait for its next byte.
        idle_timeout: the longest time with no traffic either way. write_timeout: the longest bytes may wait to be
        sent without any going out. 0 turns a timeout off. buffer_limit: bytes held while connecting before the
        sender is paused. congestion_limit: bytes waiting to be sent above which the sender is paused (0: the event
        loop's default, 64 KiB).

        retry_count: how many more times a connection that could not be made is tried (-1: until it is), each after
        retry_delay seconds; data waits meanwhile. bind: the local address to connect from, 'ip:port' or 'ip' (or a
        callable returning it). keep_alive: TCP keep-alive probes (SO_KEEPALIVE). no_delay: no Nagle delay
        (TCP_NODELAY). on_state(outbound): called when the connection's state changes, with outbound.state
        ('connecting', 'connected', 'idle' between retries, 'closed'), outbound.error, its remote_* and local_*
        address and port, and outbound.retries.

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
        if on_state is not None and not callable(on_state):
            raise ScriptError('connect(on_state=...) takes a function', *caller_location())
        try:
            opts = ConnectOptions(connect_timeout, read_timeout, idle_timeout, buffer_limit, write_timeout,
                                  int(congestion_limit or 0), int(retry_count), retry_delay, bool(keep_alive),
                                  bool(no_delay), bind, on_state)
        except ValueError as e:
            raise ScriptError(str(e), *caller_location()) from None
        return self.append(Connect(target, opts))
