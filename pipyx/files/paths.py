"""From a request path to a file under a root, safely.

Everything that could step outside the root, or reach a file the site did not mean to publish, resolves to nothing
(the Directory answers 404 and so does not even say whether such a file exists): `..` and `.` segments, in clear or
percent-encoded; an encoded slash (%2F) or backslash (%5C), or a backslash at all; a NUL byte; an empty segment
(`//`); a path that does not start with `/`; a symlink whose target is outside the root (the real path is checked,
so a symlink inside the root to another place inside it is fine); names starting with a dot, unless `hidden` is on
(`/.well-known/` is allowed on its own with `well_known`); and anything that is not a regular file or a directory
(fifos, sockets, devices).
"""
import os
import stat as _stat
from urllib.parse import unquote

FILE, REDIRECT, LISTING = 'file', 'redirect', 'listing'


def decode_path(raw):
    """The request path (no query string) percent-decoded into a str that maps to the file system's bytes, or None
    when it is malformed or hides a separator or a NUL behind an escape."""
    if '%' in raw:
        low = raw.lower()
        if '%2f' in low or '%5c' in low or '%00' in low:
            return None
        path = unquote(raw, encoding='utf-8', errors='surrogateescape')
    else:
        path = raw
    if not path.startswith('/') or '\\' in path or '\x00' in path:
        return None
    return path


def split_segments(path, hidden=False, well_known=True):
    """The names of a decoded path, in order, or None when one is not allowed. A trailing slash is not a segment."""
    parts = path[1:].split('/')
    if parts and parts[-1] == '':
        parts.pop()
    for i, seg in enumerate(parts):
        if not seg or seg == '.' or seg == '..':
            return None
        if seg[0] == '.' and not hidden and not (well_known and i == 0 and seg == '.well-known'):
            return None
    return parts


def contained(root, real):
    """True when the real path `real` is `root` or under it (both real, absolute, without a trailing slash)."""
    return real == root or real.startswith(root + os.sep) or (root == os.sep and real.startswith(os.sep))


def hidden_inside(root, real, well_known):
    """True when a component of `real` below `root` is a dot-name (what a symlink could lead to)."""
    rel = real[len(root):].lstrip(os.sep)
    if not rel:
        return False
    parts = rel.split(os.sep)
    for i, seg in enumerate(parts):
        if seg.startswith('.') and not (well_known and i == 0 and seg == '.well-known'):
            return True
    return False


def _stat_path(p):
    try:
        return os.stat(p)
    except (OSError, ValueError, UnicodeError):
        return None


def _real_inside(root, p, hidden, well_known):
    """The real path of p when it is inside root (and not hidden there, unless allowed), else None."""
    try:
        real = os.path.realpath(p)
    except (OSError, ValueError, UnicodeError):
        return None
    if not contained(root, real):
        return None
    if not hidden and hidden_inside(root, real, well_known):
        return None
    return real


def resolve(root, raw_path, *, index=('index.html',), listing=False, hidden=False, well_known=True):
    """What the request path `raw_path` (as received, no query string) names under the real directory `root`:

    - (FILE, real_path, stat_result): a regular file to serve;
    - (REDIRECT, None, None): a directory asked for without its trailing slash;
    - (LISTING, real_dir_path, stat_result): a directory without an index file, when listing is on;
    - None: nothing to serve (404).
    """
    path = decode_path(raw_path)
    if path is None:
        return None
    segments = split_segments(path, hidden, well_known)
    if segments is None:
        return None
    fs_path = os.path.join(root, *segments) if segments else root
    st = _stat_path(fs_path)
    if st is None:
        return None
    if _stat.S_ISREG(st.st_mode):
        if path.endswith('/'):
            return None                        # '/file.txt/' names a directory that does not exist
        real = _real_inside(root, fs_path, hidden, well_known)
        return (FILE, real, st) if real is not None else None
    if not _stat.S_ISDIR(st.st_mode):
        return None                            # fifo, socket, device
    real = _real_inside(root, fs_path, hidden, well_known)
    if real is None:
        return None
    if not path.endswith('/'):
        return (REDIRECT, None, None)
    for name in index:
        p = os.path.join(real, name)
        ist = _stat_path(p)
        if ist is not None and _stat.S_ISREG(ist.st_mode):
            ireal = _real_inside(root, p, hidden, well_known)
            if ireal is not None:
                return (FILE, ireal, ist)
    if listing:
        return (LISTING, real, st)
    return None


def sibling(real, suffix, root, hidden, well_known):
    """(real path, stat) of the pre-compressed sibling `real + '.' + suffix` if it is a regular file inside root,
    else None."""
    p = real + '.' + suffix
    st = _stat_path(p)
    if st is None or not _stat.S_ISREG(st.st_mode):
        return None
    sreal = _real_inside(root, p, hidden, well_known)
    if sreal is None:
        return None
    return sreal, st


def open_regular(real, expected=None):
    """Opens `real` for reading without following a symlink in its last component and without blocking on a fifo
    that took a file's place; returns (fd, fstat) or None when it is no longer the regular file expected (same
    inode and size, when `expected` is a stat_result)."""
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, 'O_NOFOLLOW', 0))
    except (OSError, ValueError, UnicodeError):
        return None
    try:
        st = os.fstat(fd)
    except OSError:
        os.close(fd)
        return None
    if not _stat.S_ISREG(st.st_mode) or (expected is not None and (
            st.st_ino != expected.st_ino or st.st_dev != expected.st_dev)):
        os.close(fd)
        return None
    return fd, st
