"""Making an Entry for a file: its content type, validators, headers, and the variants a client can be sent.

`settings` is the Directory that serves the file: these functions read its options (mime table, Cache-Control
rules, extra headers, codings, the marker header) and nothing else of it.
"""
import os

from . import paths
from .cache import Entry, Variant
from .compress import SUFFIXES, HAVE_BROTLI, encode
from .mime import is_compressible, is_text
from .validators import file_etag, http_date

READ_PIECE = 4 << 20


def encodings_enabled(settings):
    """The codings this Directory offers at all, best first."""
    out = []
    if settings.brotli and HAVE_BROTLI:
        out.append('br')
    if settings.gzip:
        out.append('gzip')
    return tuple(out)


def signature_of(real, st):
    return (real, st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)


def find_siblings(settings, real, st):
    """{coding: (real path, stat)} of the pre-compressed siblings that may stand for the file: `file.gz`,
    `file.br`, regular files inside the root, not older than the file and smaller than it."""
    found = {}
    if not settings.precompressed:
        return found
    for enc in encodings_enabled(settings):
        s = paths.sibling(real, SUFFIXES[enc], settings.root, settings.hidden, settings.well_known)
        if s is not None and s[1].st_mtime_ns >= st.st_mtime_ns and s[1].st_size < st.st_size:
            found[enc] = s
    return found


def full_signature(real, st, siblings):
    return (signature_of(real, st),) + tuple(sorted((enc, signature_of(*s)) for enc, s in siblings.items()))


def read_file(real, expected):
    """All the bytes of the regular file `real`, or None when it is no longer the file `expected` (a stat_result)
    described — another inode, size or modification time — or changes while being read."""
    opened = paths.open_regular(real, expected)
    if opened is None:
        return None
    fd, st = opened
    try:
        if st.st_size != expected.st_size or st.st_mtime_ns != expected.st_mtime_ns:
            return None
        pieces = []
        pos, left = 0, st.st_size
        while left > 0:
            b = os.pread(fd, min(left, READ_PIECE), pos)
            if not b:
                return None              # shorter than it was: being rewritten
            pieces.append(b)
            pos += len(b)
            left -= len(b)
    except OSError:
        return None
    finally:
        os.close(fd)
    return b''.join(pieces) if len(pieces) != 1 else pieces[0]


def build_entry(settings, real, st, siblings, body):
    """The Entry of a regular file: `body` is its bytes when it is to be kept in memory, else None (served from
    disk per request)."""
    e = Entry()
    e.path = real
    e.rel = '/' + os.path.relpath(real, settings.root).replace(os.sep, '/') if real != settings.root else '/'
    e.size = st.st_size
    e.mtime_ns = st.st_mtime_ns
    e.mtime = st.st_mtime
    e.ino = st.st_ino
    e.content_type = settings.mime.content_type(os.path.basename(real))
    e.last_modified = http_date(st.st_mtime)
    e.compressible = is_compressible(e.content_type)
    e.siblings = siblings
    e.signature = full_signature(real, st, siblings)
    on_the_fly = ()
    if body is not None and e.compressible and st.st_size >= settings.min_compress_size:
        on_the_fly = encodings_enabled(settings)
    e.offered = tuple(enc for enc in encodings_enabled(settings) if enc in siblings or enc in on_the_fly)
    e.vary = bool(siblings) or (e.compressible and bool(encodings_enabled(settings)))
    e.variants['identity'] = make_variant(settings, e, 'identity', file_etag(st.st_size, st.st_mtime_ns, st.st_ino),
                                          real, st.st_size, body, marker='hit' if body is not None else 'miss')
    return e


def representation_headers(settings, e, encoding, etag, marker):
    """(fields of a 200, fields of a 304) for one variant of entry e."""
    h = {'content-type': e.content_type}
    if encoding != 'identity':
        h['content-encoding'] = encoding
    h['etag'] = etag
    h['last-modified'] = e.last_modified
    cc = settings.cache_control_for(e.rel)
    if cc:
        h['cache-control'] = cc
    if e.vary:
        h['vary'] = 'accept-encoding'
    if encoding == 'identity':
        h['accept-ranges'] = 'bytes'
    h.update(settings.extra_headers)
    if settings.cache_header:
        h[settings.cache_header] = marker
    h304 = {'etag': etag}
    if cc:
        h304['cache-control'] = cc
    if e.vary:
        h304['vary'] = 'accept-encoding'
    if settings.cache_header:
        h304[settings.cache_header] = marker
    return h, h304


def make_variant(settings, e, encoding, etag, path, size, body, marker):
    h, h304 = representation_headers(settings, e, encoding, etag, marker)
    return Variant(encoding, etag, size, path, body, h, h304)


def sibling_variant(settings, e, encoding):
    """The variant of a pre-compressed sibling: read into memory when the entry is, else served from disk. None
    when the sibling changed or vanished since the entry was made."""
    real, st = e.siblings[encoding]
    body = None
    if e.cached or e.variants['identity'].body is not None:
        body = read_file(real, st)
        if body is None:
            return None
    etag = file_etag(st.st_size, st.st_mtime_ns, st.st_ino, SUFFIXES[encoding])
    return make_variant(settings, e, encoding, etag, real, st.st_size, body,
                        marker='hit' if body is not None else 'miss')


def compressed_variant(settings, e, encoding, data):
    """The variant made by compressing the identity body with `encoding`, or None when it is not smaller."""
    out = encode(encoding, data, settings.gzip_level, settings.brotli_quality, is_text(e.content_type))
    if len(out) >= len(data):
        return None
    etag = file_etag(e.size, e.mtime_ns, e.ino, SUFFIXES[encoding])
    return make_variant(settings, e, encoding, etag, e.path, len(out), out, marker='hit')
