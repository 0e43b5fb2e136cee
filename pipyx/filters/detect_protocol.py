"""detect_protocol: what protocol a stream speaks, from its first bytes."""
from .._native import DetectProtocolFilter
from ..builder import PipelineBuilder


class DetectProtocolMixin(PipelineBuilder):
    def detect_protocol(self, callback, *, timeout=None, max_bytes=None):
        """Calls callback(name) once per stream, as soon as its first bytes tell: 'HTTP' (an HTTP/1.0 or 1.1
        request line), 'HTTP2' (the HTTP/2 connection preface), 'TLS' (a handshake record with a ClientHello), or ''
        when it is none of these — which is also the answer once max_bytes (default 8192) have come undecided, after
        `timeout` seconds from the first event (default: no timeout), or when the stream ends undecided. What the
        callback returns, if not None, goes out as events (as a replace_* callback's would) before the event that
        decided. Every event passes on unchanged."""
        return self.append(DetectProtocolFilter(callback, timeout, max_bytes))
