"""Validators and conditional requests (RFC 9110 section 8.8 and 13): ETag, Last-Modified, If-None-Match,
If-Modified-Since, If-Range, and the HTTP date format."""
import time
from email.utils import formatdate, parsedate_to_datetime


def http_date(seconds):
    """An IMF-fixdate: 'Sun, 06 Nov 1994 08:49:37 GMT'."""
    return formatdate(seconds, usegmt=True)


def parse_http_date(value):
    """Seconds since the epoch of an HTTP date (any of the three forms RFC 9110 allows), or None if it is not one."""
    if not value:
        return None
    try:
        dt = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if dt is None:
        return None
    try:
        return int(dt.timestamp())
    except (OverflowError, OSError, ValueError):
        return None


class DateCache:
    """The current HTTP date, formatted once per second: what a `date` field costs per response."""
    __slots__ = ('_second', '_text', '_stamped')

    def __init__(self):
        self._second = -1
        self._text = ''
        self._stamped = {}

    def now(self):
        s = int(time.time())
        if s != self._second:
            self._second = s
            self._text = http_date(s)
            self._stamped = {}
        return self._text

    def stamp(self, fields):
        """fields (a dict that does not change) with `date` added; the copy is made once per second per dict."""
        text = self.now()
        d = self._stamped.get(id(fields))
        if d is None or d[0] is not fields:
            if len(self._stamped) > 1024:
                self._stamped = {}
            merged = dict(fields)
            merged['date'] = text
            d = self._stamped[id(fields)] = (fields, merged)
        return d[1]


def file_etag(size, mtime_ns, ino, suffix=''):
    """A strong ETag from what changes when a file is rewritten: size, modification time and inode, in hex; suffix
    names an encoded variant ('gz', 'br') so each representation has its own tag."""
    if suffix:
        return '"%x-%x-%x-%s"' % (size, mtime_ns, ino, suffix)
    return '"%x-%x-%x"' % (size, mtime_ns, ino)


def _opaque(tag):
    tag = tag.strip()
    return tag[2:] if tag[:2] in ('W/', 'w/') else tag


def split_etags(value):
    """The entity tags of an If-None-Match / If-Match list, as given (with their W/ if any). Commas inside a quoted
    tag do not split it."""
    tags, i, n = [], 0, len(value)
    while i < n:
        while i < n and value[i] in ' \t,':
            i += 1
        if i >= n:
            break
        start = i
        if value.startswith(('W/', 'w/'), i):
            i += 2
        if i < n and value[i] == '"':
            end = value.find('"', i + 1)
            i = n if end < 0 else end + 1
        else:
            while i < n and value[i] != ',':
                i += 1
        tags.append(value[start:i].strip())
    return tags


def none_match(if_none_match, etag):
    """True when If-None-Match says the client already has this representation: '*', or a tag in its list equal to
    etag by weak comparison (the W/ prefixes ignored)."""
    value = if_none_match.strip()
    if value == '*':
        return True
    if value == etag:                       # the usual case: one tag, sent back as it was received
        return True
    mine = _opaque(etag)
    return any(_opaque(t) == mine for t in split_etags(value))


def not_modified_since(if_modified_since, mtime_seconds):
    """True when the file has not changed since the date the client gives (one-second resolution, as HTTP dates)."""
    since = parse_http_date(if_modified_since)
    return since is not None and int(mtime_seconds) <= since


def if_range_holds(if_range, etag, last_modified):
    """True when an If-Range precondition holds, so the Range applies: an entity tag that matches etag by strong
    comparison (weak tags never do), or an HTTP date equal to the Last-Modified field."""
    value = if_range.strip()
    if value.startswith('"'):
        return value == etag
    if value.startswith(('W/', 'w/')):
        return False
    since = parse_http_date(value)
    return since is not None and since == parse_http_date(last_modified)


def match_strong(if_match, etag):
    """True when If-Match holds for a representation with this etag: '*', or a tag in its list equal to etag by
    strong comparison (weak tags never match)."""
    value = if_match.strip()
    if value == '*':
        return True
    return any(t == etag for t in split_etags(value))


def modified_since(if_unmodified_since, mtime_seconds):
    """True when If-Unmodified-Since fails: the file changed after the date given. An invalid date is ignored."""
    since = parse_http_date(if_unmodified_since)
    return since is not None and int(mtime_seconds) > since
