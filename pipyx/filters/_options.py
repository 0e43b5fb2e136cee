"""Options shared by the HTTP filters."""
from .._native import Http2Options, HttpLimits


def http_limits(max_header_size=None, max_header_count=None, max_line_size=None, max_body_size=None,
                header_timeout=None, body_timeout=None, http2=None):
    """HttpLimits from keyword options, the defaults where an option is not given."""
    d = HttpLimits()
    return HttpLimits(
        max_header_size=d.max_header_size if max_header_size is None else int(max_header_size),
        max_header_count=d.max_header_count if max_header_count is None else int(max_header_count),
        max_line_size=d.max_line_size if max_line_size is None else int(max_line_size),
        max_body_size=d.max_body_size if max_body_size is None else int(max_body_size),
        header_timeout=d.header_timeout if header_timeout is None else float(header_timeout or 0),
        body_timeout=d.body_timeout if body_timeout is None else float(body_timeout or 0),
        http2=http2_options(http2),
    )


def http2_options(http2):
    """Http2Options from a server's http2= option: None (the defaults), False (HTTP/1 only), a dict of options, or
    an Http2Options."""
    if http2 is None or isinstance(http2, Http2Options):
        return http2
    if http2 is False:
        return Http2Options(enabled=False)
    if http2 is True:
        return None
    if not isinstance(http2, dict):
        raise TypeError('http2 must be a dict of options, False or an Http2Options, not %s' % type(http2).__name__)
    try:
        return Http2Options(**http2)
    except TypeError:
        known = ('enabled', 'max_concurrent_streams', 'initial_window_size', 'connection_window_size',
                 'max_frame_size', 'max_header_list_size', 'header_table_size', 'max_continuations', 'max_resets',
                 'reset_interval', 'max_pending')
        unknown = sorted(set(http2) - set(known))
        raise TypeError('unknown http2 option%s %s; known: %s' % (
            's' if len(unknown) > 1 else '', ', '.join(unknown), ', '.join(known))) from None
