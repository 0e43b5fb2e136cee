"""Content types by file name extension, and which types are worth compressing.

MIME_TYPES is the default table; a Directory takes `mime_types={'.ext': 'type', ...}` to add to it or override it
for its own files, so a site can serve `.webmanifest` or a private extension without touching the others.
"""

MIME_TYPES = {
    # text and documents
    '.html': 'text/html', '.htm': 'text/html', '.css': 'text/css', '.txt': 'text/plain', '.text': 'text/plain',
    '.md': 'text/markdown', '.csv': 'text/csv', '.tsv': 'text/tab-separated-values', '.xml': 'application/xml',
    '.xhtml': 'application/xhtml+xml', '.rss': 'application/rss+xml', '.atom': 'application/atom+xml',
    '.ics': 'text/calendar', '.vtt': 'text/vtt', '.pdf': 'application/pdf', '.rtf': 'application/rtf',
    # scripts and data
    '.js': 'text/javascript', '.mjs': 'text/javascript', '.cjs': 'text/javascript', '.json': 'application/json',
    '.map': 'application/json', '.jsonld': 'application/ld+json', '.webmanifest': 'application/manifest+json',
    '.wasm': 'application/wasm', '.yaml': 'application/yaml', '.yml': 'application/yaml',
    '.toml': 'application/toml',
    # images
    '.svg': 'image/svg+xml', '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg',
    '.gif': 'image/gif', '.webp': 'image/webp', '.avif': 'image/avif', '.ico': 'image/x-icon',
    '.bmp': 'image/bmp', '.tif': 'image/tiff', '.tiff': 'image/tiff', '.apng': 'image/apng',
    # fonts
    '.woff': 'font/woff', '.woff2': 'font/woff2', '.ttf': 'font/ttf', '.otf': 'font/otf',
    '.eot': 'application/vnd.ms-fontobject',
    # audio and video
    '.mp4': 'video/mp4', '.m4v': 'video/mp4', '.webm': 'video/webm', '.ogv': 'video/ogg', '.mov': 'video/quicktime',
    '.mp3': 'audio/mpeg', '.m4a': 'audio/mp4', '.ogg': 'audio/ogg', '.oga': 'audio/ogg', '.opus': 'audio/ogg',
    '.wav': 'audio/wav', '.flac': 'audio/flac', '.aac': 'audio/aac',
    # archives and binaries
    '.zip': 'application/zip', '.gz': 'application/gzip', '.tgz': 'application/gzip', '.br': 'application/x-brotli',
    '.bz2': 'application/x-bzip2', '.xz': 'application/x-xz', '.zst': 'application/zstd',
    '.tar': 'application/x-tar', '.7z': 'application/x-7z-compressed', '.rar': 'application/vnd.rar',
    '.jar': 'application/java-archive', '.bin': 'application/octet-stream', '.exe': 'application/octet-stream',
    '.iso': 'application/octet-stream', '.dmg': 'application/octet-stream', '.deb': 'application/octet-stream',
}

# Types that are text: they get `; charset=...` and are compressed.
_TEXT_TYPES = frozenset((
    'text/javascript', 'application/json', 'application/ld+json', 'application/manifest+json', 'application/xml',
    'application/xhtml+xml', 'application/rss+xml', 'application/atom+xml', 'image/svg+xml', 'application/yaml',
    'application/toml',
))

# Binary types that still compress well. Everything not text and not here is left alone: images other than SVG,
# archives, woff/woff2 (compressed inside), audio, video, PDF.
_COMPRESSIBLE_BINARY = frozenset((
    'application/wasm', 'font/ttf', 'font/otf', 'application/vnd.ms-fontobject', 'image/bmp',
    'application/x-tar', 'application/rtf',
))


def is_text(content_type):
    """True for types whose bytes are text: text/*, and JSON, XML, SVG, JavaScript and the like."""
    t = content_type.split(';', 1)[0].strip().lower()
    return t.startswith('text/') or t in _TEXT_TYPES


def is_compressible(content_type):
    """True for types that gzip and brotli make noticeably smaller."""
    t = content_type.split(';', 1)[0].strip().lower()
    return t.startswith('text/') or t in _TEXT_TYPES or t in _COMPRESSIBLE_BINARY


class MimeTable:
    """Extension -> Content-Type for one Directory: MIME_TYPES plus its own additions.

    `extra` maps extensions ('.ext' or 'ext', matched without regard to case) to types; a type of None removes an
    extension, which then gets `default`. Text types get `; charset=<charset>` (unless the type already says one).
    """

    def __init__(self, extra=None, default='application/octet-stream', charset='utf-8'):
        table = dict(MIME_TYPES)
        for ext, ctype in (extra or {}).items():
            ext = ext.lower() if ext.startswith('.') else '.' + ext.lower()
            if ctype is None:
                table.pop(ext, None)
            else:
                table[ext] = ctype
        self.default = default
        self.charset = charset
        self._full = {ext: self._with_charset(t) for ext, t in table.items()}
        self._default_full = self._with_charset(default)

    def _with_charset(self, ctype):
        if self.charset and is_text(ctype) and 'charset=' not in ctype.lower():
            return '%s; charset=%s' % (ctype, self.charset)
        return ctype

    def content_type(self, filename):
        """The Content-Type for a file name (the extension after the last dot, any case)."""
        dot = filename.rfind('.')
        if dot <= 0:
            return self._default_full
        return self._full.get(filename[dot:].lower(), self._default_full)
