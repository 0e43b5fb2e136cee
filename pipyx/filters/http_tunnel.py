"""accept_http_tunnel and connect_http_tunnel: HTTP CONNECT (and Upgrade) tunnels, each side."""
import inspect

from .._native import AcceptHttpTunnel, ConnectHttpTunnel
from ..builder import PipelineBuilder


def _wants_address(fn):
    # on_connect(host, port), or Pipy's on_connect(request): told apart by how many arguments it needs.
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return True
    required = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]
    return len(required) >= 2


class HttpTunnelMixin(PipelineBuilder):
    def accept_http_tunnel(self, on_connect=None, target=None):
        """Under demux_http, answers a request for a tunnel and then relays the tunnel's bytes through the
        sub-pipeline (target, or the one given by the following .to()), whose output goes back to the client.

        on_connect(host, port) (two required parameters): a `CONNECT host:port` is allowed (200) when it returns True or None,
        refused with 403 when it returns False, or sent to another place when it returns 'host:port' or (host, port);
        any other method gets 405. In the sub-pipeline, `connect(http_tunnel_target)` connects to the place allowed
        (http_tunnel_target from pipyx gives it as (host, port)). on_connect may return an awaitable.

        on_connect(request) (one required parameter, as Pipy's acceptHTTPTunnel): gets the request Message and returns the
        response Message (None: 200). A 2xx to a CONNECT or a 101 to an Upgrade opens the tunnel; any other answer is
        a plain response. `websocket_handshake` from pipyx is such a callback for WebSocket.

        With on_connect None every CONNECT is allowed.
        """
        ref = self.sub(target)
        if on_connect is None:
            return self.append(AcceptHttpTunnel(ref, lambda host, port: True, True))
        if not callable(on_connect):
            raise TypeError('accept_http_tunnel: on_connect must be callable')
        return self.append(AcceptHttpTunnel(ref, on_connect, _wants_address(on_connect)))

    def connect_http_tunnel(self, address, target=None, *, authorization=None, buffer_limit=1 << 20):
        """Makes the stream a tunnel through an HTTP proxy: a `CONNECT address` request goes into the sub-pipeline
        (target, or the one given by the following .to()), which carries HTTP to the proxy: typically
        `mux_http().to(lambda p: p.connect('proxy:3128'))`. address is 'host:port', (host, port), a CONNECT request
        Message, or a callable returning one, evaluated when the stream starts. authorization is the
        Proxy-Authorization value ('Basic ...'), or a callable returning it.

        Once the proxy answers 2xx the stream's bytes go through and what comes back is this filter's output; what
        the stream sends before then is held, up to buffer_limit bytes (beyond: BufferOverflow). Any other answer
        ends the stream with ConnectionRefused and one log line.
        """
        ref = self.sub(target)
        return self.append(ConnectHttpTunnel(ref, address, authorization, int(buffer_limit)))
