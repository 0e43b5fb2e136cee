"""Content codings: choosing one from Accept-Encoding (RFC 9110 section 12.5.3), and making gzip and brotli bodies.

Encoding names used throughout pipyx.files: 'identity', 'gzip', 'br'. SUFFIXES gives the file name suffix of a
pre-compressed sibling ('style.css.gz') and the ETag suffix of each encoded variant.
"""
import gzip as _gzip

try:
    import brotli as _brotli
except ImportError:                  # brotli is a dependency; without it only gzip is offered
    _brotli = None

SUFFIXES = {'gzip': 'gz', 'br': 'br'}
HAVE_BROTLI = _brotli is not None
_ALIASES = {'x-gzip': 'gzip'}


def parse_accept_encoding(value):
    """{coding: q} from an Accept-Encoding value; '*' is kept as a key. Items with a malformed q are left out."""
    prefs = {}
    for item in value.split(','):
        name, _, params = item.partition(';')
        name = name.strip().lower()
        if not name:
            continue
        name = _ALIASES.get(name, name)
        q = 1.0
        for p in params.split(';'):
            k, eq, v = p.partition('=')
            if eq and k.strip().lower() == 'q':
                try:
                    q = float(v.strip())
                except ValueError:
                    q = -1.0
                if not 0.0 <= q <= 1.0:
                    q = -1.0
        if q < 0 or name in prefs:
            continue
        prefs[name] = q
    return prefs


def negotiate(accept_encoding, offered):
    """The coding to send: the one of `offered` (encodings the server can produce, best first) or 'identity' with
    the highest q in Accept-Encoding; on a tie the server's order, with identity last. Identity not named (and no
    '*') is acceptable but least preferred: a client that lists codings gets one. No header, or nothing acceptable
    at all (`identity;q=0` and no offered coding accepted): identity, which a server may always send."""
    if not accept_encoding or not offered:
        return 'identity'
    prefs = parse_accept_encoding(accept_encoding)
    star = prefs.get('*')
    best, best_q = 'identity', prefs.get('identity', star if star is not None else 0.001)
    for coding in offered:
        q = prefs.get(coding, star if star is not None else 0.0)
        if q > 0 and (q > best_q or (q == best_q and best == 'identity')):
            best, best_q = coding, q
    return best


class Negotiator:
    """negotiate() with its answers remembered per (Accept-Encoding value, offered codings): browsers send a handful
    of distinct values, so the per-request cost is one dict lookup. Bounded: forgets everything past max_size."""

    def __init__(self, max_size=256):
        self.answers = {}
        self.max_size = max_size

    def choose(self, accept_encoding, offered):
        key = (accept_encoding, offered)
        r = self.answers.get(key)
        if r is None:
            r = negotiate(accept_encoding, offered)
            if len(self.answers) >= self.max_size:
                self.answers.clear()
            self.answers[key] = r
        return r


def encode(encoding, data, gzip_level=6, brotli_quality=8, text=True):
    """data compressed with `encoding` ('gzip' or 'br'). gzip output carries no name and no time, so the same input
    always gives the same bytes."""
    if encoding == 'gzip':
        return _gzip.compress(data, compresslevel=gzip_level, mtime=0)
    if encoding == 'br':
        if _brotli is None:
            raise ValueError('brotli is not installed')
        return _brotli.compress(data, quality=brotli_quality,
                                mode=_brotli.MODE_TEXT if text else _brotli.MODE_GENERIC)
    raise ValueError('unknown content coding %r' % (encoding,))
