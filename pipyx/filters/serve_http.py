"""serve_http: answer HTTP requests with a handler."""
from .._native import FileAnswerer, ServeHTTP
from ..builder import PipelineBuilder
from ._options import http_limits


class ServeHttpMixin(PipelineBuilder):
    def serve_http(self, handler, *, max_header_size=None, max_header_count=None, max_line_size=None,
                   max_body_size=None, header_timeout=None, body_timeout=None, http2=None):
        """Decodes HTTP/1.x and HTTP/2 requests from the stream's bytes and writes back handler's answers, in
        request order for HTTP/1.x, on each request's own stream for HTTP/2.

        handler is a Message (or str/bytes body) sent for every request — encoded once and reused — or a
        callable taking the request Message and returning a Message, str, bytes, None (an empty 200), or an
        awaitable of one. An exception in the handler answers 500 and is logged with the script's line.

        Limits: max_header_size (16 KiB, 431), max_header_count (100, 431), max_line_size (8 KiB, 414),
        max_body_size (64 MiB, 413; 0 for none); header_timeout (60 s from a head's first byte to its end, 408)
        and body_timeout (60 s, the longest pause in a request body, 408); 0 for none.

        HTTP/2: a connection that starts with the HTTP/2 preface speaks HTTP/2 (h2c by prior knowledge; h2 when
        accept_tls before it offers alpn=['h2', 'http/1.1']). Each stream is one request, as an HTTP/1 request is.
        http2 is a dict of its options (see Http2Options: max_concurrent_streams 100, initial_window_size 65535,
        connection_window_size 1 MiB, max_frame_size 16384, max_header_list_size 65536, header_table_size 4096,
        max_continuations 64, max_resets 200 per reset_interval 1 s, max_pending 65536), or False for HTTP/1 only.
        """
        return self.append(ServeHTTP(handler, http_limits(max_header_size, max_header_count, max_line_size,
                                                          max_body_size, header_timeout, body_timeout, http2),
                                     _fast_path(handler)))


def _fast_path(handler):
    """A Directory's serve answers memory-cached files natively (FileAnswerer) before calling Python."""
    from ..files.directory import Directory
    owner = getattr(handler, '__self__', None)
    if isinstance(owner, Directory) and getattr(handler, '__func__', None) is Directory.serve:
        return FileAnswerer(owner)
    return None
