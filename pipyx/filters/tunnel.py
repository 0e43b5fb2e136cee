"""connect_tunnel and accept_tunnel: many streams over a few tunnel connections (the framing is described in docs/tunnel.md)."""
from .._native import AcceptTunnel, ConnectTunnel, TunnelOptions
from ..builder import PipelineBuilder


class TunnelMixin(PipelineBuilder):
    def connect_tunnel(self, target=None, *, session_key=None, max_sessions=1, max_streams=0, window=65536,
            ping_interval=15.0):
        """Carries each stream's bytes in its own channel of a shared tunnel session and outputs what comes back on
        the channel. A session is an instance of the sub-pipeline (target, or the one given by the following
        .to()), typically `connect('cloud:9000')`; its far end runs `accept_tunnel()`.

        Sessions are grouped by session_key (a value, or a callable evaluated when a stream starts). Up to
        max_sessions tunnel connections are opened per key as streams arrive; after that each new stream joins the
        session carrying the fewest channels. max_streams caps the channels of one session (0: no cap); a stream
        that finds every session full is ended with BufferOverflow. window: the most bytes in flight towards this
        side per channel (at least 64 KiB). ping_interval: seconds of silence before the tunnel is pinged, and again
        before it is given up (0: never). When a tunnel connection is lost, every stream in it ends with
        ConnectionReset and the next stream opens a new one. Message boundaries do not cross a tunnel: encode
        messages to bytes before connect_tunnel.
        """
        ref = self.sub(target)
        return self.append(ConnectTunnel(ref, session_key, TunnelOptions(window, ping_interval, max_sessions, max_streams)))

    def accept_tunnel(self, target=None, *, max_streams=0, window=65536, ping_interval=15.0):
        """The far end of connect_tunnel: the stream is a tunnel connection, and each channel opened in it gets its own
        instance of the sub-pipeline (target, or the one given by the following .to()), fed with the channel's
        bytes; what the sub-pipeline outputs goes back in the channel. ctx.inbound in the sub-pipeline gives the
        addresses of the original connection at the connecting side. max_streams caps the channels of one tunnel (0: no
        cap); window and ping_interval as for connect_tunnel.
        """
        ref = self.sub(target)
        return self.append(AcceptTunnel(ref, TunnelOptions(window, ping_interval, 1, max_streams)))
