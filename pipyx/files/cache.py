"""The memory cache of a Directory: what a file's responses are, ready to send, and which of them stay in memory.

An Entry describes one file as served: its validators and, per content coding, a Variant with the exact response
head and the body. Entries of small files (up to `max_file_size`) live in a FileCache, bounded by the total of
their bytes and evicting the least recently used; an entry is trusted for `check_interval` seconds after it was
last checked against the file system, then checked again (see docs/files.md, "How an entry is looked up").

Everything a response needs is precomputed here, so a native fast path can answer a GET or HEAD from an entry with
no Python call: pick the variant, compare If-None-Match with its `etag`, and write `head` (or `head_304`), the
`date` field, the connection fields, a blank line, and `body`.
"""
from collections import OrderedDict

ENTRY_OVERHEAD = 512            # bytes counted per entry besides its bodies and heads: keeps the count bounded too
MAX_URLS_PER_ENTRY = 8          # request paths remembered per entry (spellings of one path: '/', '/index.html', %xx)


class Variant:
    """One representation of a file: identity, or a content coding of it ('gzip', 'br').

    etag        the strong ETag, quoted, as sent
    size        the length of the body
    path        the file its bytes come from: the file itself, or a pre-compressed sibling
    body        the bytes, when the entry is in memory; None when they are read per request
    headers     the fields of a 200 response, less framing and `date` (a dict the Python path copies)
    headers_304 the fields of a 304 response
    head        b'HTTP/1.1 200 OK\\r\\n' + headers + b'content-length: N\\r\\n' (no blank line: the sender adds
                `date`, its connection fields and the blank line)
    head_304    b'HTTP/1.1 304 Not Modified\\r\\n' + headers_304, likewise open-ended
    """
    __slots__ = ('encoding', 'etag', 'size', 'path', 'body', 'headers', 'headers_304', 'head', 'head_304')

    def __init__(self, encoding, etag, size, path, body, headers, headers_304):
        self.encoding = encoding
        self.etag = etag
        self.size = size
        self.path = path
        self.body = body
        self.headers = headers
        self.headers_304 = headers_304
        self.head = encode_head(200, 'OK', headers, size)
        self.head_304 = encode_head(304, 'Not Modified', headers_304, None)

    @property
    def nbytes(self):
        return (len(self.body) if self.body is not None else 0) + len(self.head) + len(self.head_304)


def encode_head(status, reason, fields, content_length):
    lines = ['HTTP/1.1 %d %s\r\n' % (status, reason)]
    for k, v in fields.items():
        lines.append('%s: %s\r\n' % (k, v))
    if content_length is not None:
        lines.append('content-length: %d\r\n' % content_length)
    return ''.join(lines).encode('latin-1', 'replace')


class Entry:
    """One file as served. `variants` maps a coding to its Variant; `offered` lists the codings a client may get
    besides identity, best first (some made on first use: `variants` lacks them until then). `signature` is what
    the file system said when the entry was made — (real path, size, mtime_ns, inode, device) of the file and of
    each pre-compressed sibling used — and `checked_at` when it last said so (time.monotonic())."""
    __slots__ = ('path', 'rel', 'size', 'mtime_ns', 'ino', 'content_type', 'last_modified', 'mtime', 'vary',
                 'compressible', 'variants', 'offered', 'siblings', 'signature', 'checked_at', 'cached', 'nbytes',
                 'urls', 'pending')

    def __init__(self):
        self.variants = {}
        self.offered = ()
        self.siblings = {}
        self.urls = []
        self.cached = False
        self.nbytes = 0
        self.pending = None


class FileCache:
    """Entries of small files in memory: at most `max_size` bytes in all (least recently used evicted first), only
    files up to `max_file_size` bytes, each trusted for `check_interval` seconds between checks of the file.

    `urls` maps a request path (as received, without the query string) to its entry: the first, and usually the
    only, lookup a request needs. `stats()` tells hits, misses and bytes; the Directory counts a response whose body
    came from memory as a hit and one it read from disk as a miss.
    """

    def __init__(self, max_size=64 << 20, max_file_size=1 << 20, check_interval=1.0):
        if max_size < 0 or max_file_size < 0 or check_interval < 0:
            raise ValueError('max_cache_size, max_file_size and check_interval must not be negative')
        self.max_size = int(max_size)
        self.max_file_size = int(max_file_size)
        self.check_interval = float(check_interval)
        self.entries = OrderedDict()     # real path -> Entry, least recently used first
        self.urls = {}                   # request path -> Entry
        self.size = 0
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    def admits(self, size):
        return size <= self.max_file_size and size + ENTRY_OVERHEAD <= self.max_size

    def touch(self, entry):
        self.entries.move_to_end(entry.path)

    def add_url(self, entry, url):
        if url not in self.urls and len(entry.urls) < MAX_URLS_PER_ENTRY:
            entry.urls.append(url)
            self.urls[url] = entry

    def put(self, entry, url):
        """Keeps entry (replacing any entry of the same file) and maps url to it."""
        old = self.entries.get(entry.path)
        if old is not None:
            self.remove(old)
        entry.cached = True
        entry.nbytes = ENTRY_OVERHEAD + sum(v.nbytes for v in entry.variants.values())
        self.entries[entry.path] = entry
        self.size += entry.nbytes
        self.add_url(entry, url)
        self._bound(entry)

    def grew(self, entry, nbytes):
        """A variant of nbytes was added to a kept entry."""
        if not entry.cached:
            return
        entry.nbytes += nbytes
        self.size += nbytes
        self._bound(entry)

    def remove(self, entry):
        if not entry.cached:
            return
        entry.cached = False
        if self.entries.get(entry.path) is entry:
            del self.entries[entry.path]
        self.size -= entry.nbytes
        for u in entry.urls:
            if self.urls.get(u) is entry:
                del self.urls[u]
        entry.urls = []

    def _bound(self, keep):
        while self.size > self.max_size and self.entries:
            path, oldest = next(iter(self.entries.items()))
            if oldest is keep and len(self.entries) == 1:
                break
            if oldest is keep:
                self.entries.move_to_end(path)
                continue
            self.remove(oldest)
            self.evictions += 1

    def clear(self):
        for e in list(self.entries.values()):
            self.remove(e)

    def stats(self):
        """{'hits', 'misses', 'entries', 'bytes', 'evictions', 'max_size'}"""
        return {'hits': self.hits, 'misses': self.misses, 'entries': len(self.entries), 'bytes': self.size,
                'evictions': self.evictions, 'max_size': self.max_size}
