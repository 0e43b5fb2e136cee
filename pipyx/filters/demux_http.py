"""demux_http: one sub-pipeline per HTTP request."""
from .._native import DemuxHTTP
from ..builder import PipelineBuilder
from ._options import http_limits


class DemuxHttpMixin(PipelineBuilder):
    def demux_http(self, target=None, *, max_header_size=None, max_header_count=None, max_line_size=None,
                   max_body_size=None, header_timeout=None, body_timeout=None, http2=None):
        """Decodes HTTP/1.x requests and starts a sub-pipeline (target, or the one given by the following .to()) for
        each. The sub-pipeline gets the request as MessageStart/Data/MessageEnd and outputs the response message.
        Responses go back in request order. If the sub-pipeline ends without a response the client gets 502 (504 on
        a timeout, 500 on an error in a callback). Limits and timeouts as for serve_http, and HTTP/2 as for
        serve_http too (http2= its options, or False): each stream gets its own sub-pipeline.
        """
        ref = self.sub(target)
        return self.append(DemuxHTTP(ref, http_limits(max_header_size, max_header_count, max_line_size,
                                                      max_body_size, header_timeout, body_timeout, http2)))
