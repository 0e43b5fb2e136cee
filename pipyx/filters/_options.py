"""Options shared by the HTTP filters."""
from .._native import HttpLimits


def http_limits(max_header_size=None, max_header_count=None, max_line_size=None, max_body_size=None,
                header_timeout=None, body_timeout=None):
    """HttpLimits from keyword options, the defaults where an option is not given."""
    d = HttpLimits()
    return HttpLimits(
        max_header_size=d.max_header_size if max_header_size is None else int(max_header_size),
        max_header_count=d.max_header_count if max_header_count is None else int(max_header_count),
        max_line_size=d.max_line_size if max_line_size is None else int(max_line_size),
        max_body_size=d.max_body_size if max_body_size is None else int(max_body_size),
        header_timeout=d.header_timeout if header_timeout is None else float(header_timeout or 0),
        body_timeout=d.body_timeout if body_timeout is None else float(body_timeout or 0),
    )
