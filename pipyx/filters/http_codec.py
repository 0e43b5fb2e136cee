"""The HTTP/1.x codec as plain filters: decode_http_request/response, encode_http_request/response."""
from .._native import DecodeHTTP, EncodeHTTP
from ..builder import PipelineBuilder
from ._options import http_limits


class HttpCodecMixin(PipelineBuilder):
    def decode_http_request(self, *, max_header_size=None, max_header_count=None, max_line_size=None,
                            max_body_size=None):
        """Bytes in, request messages out. A malformed request ends the stream with StreamEnd('ProtocolError')."""
        return self.append(DecodeHTTP(False, http_limits(max_header_size, max_header_count, max_line_size,
                                                         max_body_size)))

    def decode_http_response(self, *, bodiless=None, max_header_size=None, max_header_count=None):
        """Bytes in, response messages out. bodiless: a callable evaluated before each response, true when it
        answers a HEAD request (so it has no body)."""
        return self.append(DecodeHTTP(True, http_limits(max_header_size, max_header_count, None, 0), bodiless))

    def encode_http_request(self):
        """Request messages in, bytes out (HTTP/1.1; Content-Length for bodies up to 16 KiB, chunked above)."""
        return self.append(EncodeHTTP(False))

    def encode_http_response(self, *, head_request=None):
        """Response messages in, bytes out. head_request: a callable, true when the response answers a HEAD
        request."""
        return self.append(EncodeHTTP(True, head_request))
