"""demux_http: one sub-pipeline per HTTP request."""
from .._native import DemuxHTTP
from ..builder import PipelineBuilder
from ._options import http_limits


class DemuxHttpMixin(PipelineBuilder):
    def demux_http(self, target=None, *, max_header_size=None, max_header_count=None, max_line_size=None,
                   max_body_size=None, header_timeout=None, body_timeout=None, tunnel_idle_timeout=60.0, http2=None):
        """Decodes HTTP/1.x requests and starts a sub-pipeline (target, or the one given by the following .to()) for
        each. The sub-pipeline gets the request as MessageStart/Data/MessageEnd and outputs the response message.
        Responses go back in request order. If the sub-pipeline ends without a response the client gets 502 (504 on
        a timeout, 500 on an error in a callback). Limits and timeouts as for serve_http, and HTTP/2 as for
        serve_http too (http2= its options, or False): each stream gets its own sub-pipeline.

        A request that asks to switch protocols (Upgrade: websocket, or any token but h2c) or to open a tunnel
        (CONNECT) goes to its sub-pipeline like any other; when the answer agrees (101 to an Upgrade, 2xx to a
        CONNECT) the connection becomes a tunnel: the client's further bytes go to that sub-pipeline as Data after
        the request's MessageEnd, and what it outputs after the answer goes back as it is, until either side ends.
        Behind mux_http that is an upgrade passed through to the upstream (its connection leaves the pool and closes
        with the client's). A tunnel with no bytes either way for tunnel_idle_timeout seconds is closed (0: never;
        nginx's proxy_read_timeout). Any other answer is a plain response and the connection goes on.
        """
        ref = self.sub(target)
        return self.append(DemuxHTTP(ref, http_limits(max_header_size, max_header_count, max_line_size,
                                                      max_body_size, header_timeout, body_timeout, http2),
                                     float(tunnel_idle_timeout or 0)))
