"""The HTML page listing a directory (when a Directory has `listing=True` and the directory has no index file).

Names are HTML-escaped in the text and percent-encoded in the links, so a file called `<script>.html` or `a b&c` is
shown as it is and links to itself. Hidden names are left out unless the Directory serves them.
"""
import html
import os
import stat as _stat
import time
from urllib.parse import quote


def _size(n):
    for unit in ('B', 'KiB', 'MiB', 'GiB'):
        if n < 1024 or unit == 'GiB':
            return ('%d %s' % (n, unit)) if unit == 'B' else ('%.1f %s' % (n, unit))
        n /= 1024.0
    return str(n)


def render(real_dir, url_path, hidden=False):
    """The listing of real_dir as UTF-8 HTML; url_path is the decoded request path (ends with '/')."""
    rows = []
    try:
        with os.scandir(real_dir) as it:
            for d in it:
                if d.name.startswith('.') and not hidden:
                    continue
                try:
                    st = d.stat()
                except OSError:
                    continue
                is_dir = _stat.S_ISDIR(st.st_mode)
                if not is_dir and not _stat.S_ISREG(st.st_mode):
                    continue
                rows.append((not is_dir, d.name, is_dir, st.st_size, st.st_mtime))
    except OSError:
        rows = []
    rows.sort()
    title = html.escape(url_path.encode('utf-8', 'surrogateescape').decode('utf-8', 'replace'))
    out = ['<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Index of %s</title>'
           '<style>body{font-family:sans-serif;margin:2em}td{padding:0 1em 0 0}'
           'td.n{text-align:right}</style></head>\n<body><h1>Index of %s</h1>\n<table>\n' % (title, title)]
    if url_path != '/':
        out.append('<tr><td><a href="../">../</a></td><td></td><td></td></tr>\n')
    for _, name, is_dir, size, mtime in rows:
        shown = name.encode('utf-8', 'surrogateescape').decode('utf-8', 'replace') + ('/' if is_dir else '')
        href = quote(name.encode('utf-8', 'surrogateescape'), safe='') + ('/' if is_dir else '')
        out.append('<tr><td><a href="%s">%s</a></td><td class="n">%s</td><td>%s</td></tr>\n' % (
            html.escape(href), html.escape(shown), '' if is_dir else _size(size),
            time.strftime('%Y-%m-%d %H:%M', time.gmtime(mtime))))
    out.append('</table>\n</body></html>\n')
    return ''.join(out).encode('utf-8')
