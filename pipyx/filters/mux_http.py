"""mux_http: send requests over pooled upstream sessions."""
from .._native import MuxHTTP, MuxOptions
from ..builder import PipelineBuilder
from ._options import http_limits


class MuxHttpMixin(PipelineBuilder):
    def mux_http(self, target=None, *, session_key=None, max_idle=60.0, max_messages=0, max_header_size=None,
                 max_header_count=None, retry_idempotent=True, buffer_chunked_body=1 << 20):
        """Encodes each request message onto an upstream session and outputs the response message decoded from it.

        A session is an instance of the sub-pipeline (target, or the one given by the following .to()), typically
        `connect(address)`. Sessions are pooled by session_key (a value or a callable evaluated per request); by
        default the key is the target of the connect() the session pipeline starts with, so each upstream gets its
        own pool. A session serves one request at a time, goes back to its pool when the response is complete, is
        closed after max_idle seconds unused or after max_messages requests (0: no limit).

        A request is never sent twice unless it is safe to: when a reused connection fails before any of the
        response arrives (the upstream closed it as the request went), a request whose method is idempotent (GET,
        HEAD, OPTIONS, TRACE, PUT, DELETE) is sent once more on a new connection, if retry_idempotent. A timeout
        is never retried: the client gets 504.

        A request body with no Content-Length (chunked) up to buffer_chunked_body bytes is gathered and sent with
        a Content-Length, for upstreams that don't take chunked requests; a longer one streams chunked (0: always).
        """
        ref = self.sub(target)
        limits = http_limits(max_header_size, max_header_count, None, 0)
        return self.append(MuxHTTP(ref, session_key, MuxOptions(max_idle, max_messages, limits, retry_idempotent,
                                                                buffer_chunked_body)))
