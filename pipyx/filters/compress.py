"""The compress family: compress, decompress (bodies and streams), compress_http, decompress_http (HTTP messages,
with their heads). The coding itself is native (native/filters/compress.pxi); here the options are checked and
turned into what the filters take."""
from .._native import CODINGS, CompressFilter, CompressHTTP, CompressHttpOptions, DecompressHTTP
from ..builder import PipelineBuilder
from ..errors import ScriptError, caller_location
from ..files.compress import HAVE_BROTLI, Negotiator

# Content types compress_http compresses unless told otherwise: text, and the text-like and binary types that
# shrink well. An entry 'x/*' stands for every type under x.
DEFAULT_COMPRESS_TYPES = frozenset((
    'text/*', 'application/json', 'application/ld+json', 'application/manifest+json', 'application/problem+json',
    'application/geo+json', 'application/x-ndjson', 'application/javascript', 'application/x-javascript',
    'application/ecmascript', 'application/xml', 'application/xhtml+xml', 'application/rss+xml',
    'application/atom+xml', 'image/svg+xml', 'application/yaml', 'application/toml', 'application/graphql',
    'application/x-www-form-urlencoded', 'application/wasm', 'font/ttf', 'font/otf',
    'application/vnd.ms-fontobject', 'image/bmp', 'image/x-icon', 'image/vnd.microsoft.icon',
))

DEFAULT_MAX_DECOMPRESSED_SIZE = 64 * 1024 * 1024
DEFAULT_MIN_COMPRESS_SIZE = 256

# By coding: (the default, fastest, smallest). gzip and deflate are zlib's levels 1-9; br is brotli's quality
# 0-11, 5 by default (its own default, 11, is for compressing once and serving many times).
_LEVELS = {'gzip': (6, 1, 9), 'deflate': (6, 1, 9), 'br': (5, 1, 11)}
_LEVEL_NAMES = ('default', 'speed', 'best')
_CODING_INDEX = {'gzip': 1, 'deflate': 2, 'br': 3}
_CANONICAL = {'gzip': 'gzip', 'x-gzip': 'gzip', 'deflate': 'deflate', 'inflate': 'deflate', 'br': 'br',
              'brotli': 'br'}


def _fail(filter_name, message):
    raise ScriptError('%s(): %s' % (filter_name, message), *caller_location())


def _coding(filter_name, name):
    canonical = _CANONICAL.get(name.strip().lower()) if isinstance(name, str) else None
    if canonical is None:
        _fail(filter_name, 'unknown method %r (gzip, deflate, br)' % (name,))
    if canonical == 'br' and not HAVE_BROTLI:
        _fail(filter_name, 'the br method needs the brotli package')
    return canonical


def _levels(filter_name, level):
    """(None, gzip, deflate, br): the level per coding from an int, a name, or a dict by coding."""
    per = dict.fromkeys(_LEVELS, level) if not isinstance(level, dict) else \
        {_coding(filter_name, k): v for k, v in level.items()}
    out = [None, None, None, None]
    for coding, (default, fastest, best) in _LEVELS.items():
        v = per.get(coding)
        if v is None or v == 'default':
            v = default
        elif v == 'speed':
            v = fastest
        elif v == 'best':
            v = best
        elif isinstance(v, int) and not isinstance(v, bool):
            if not 0 <= v <= 11:
                _fail(filter_name, 'level %r is out of range (0-9 for gzip and deflate, 0-11 for br)' % (v,))
            v = min(max(v, 1 if coding != 'br' else 0), best)
        else:
            _fail(filter_name, 'level is an int, %s, or a dict of them by method, not %r'
                  % (', '.join(_LEVEL_NAMES), v))
        out[_CODING_INDEX[coding]] = v
    return tuple(out)


def _max_size(filter_name, max_size):
    if not isinstance(max_size, int) or isinstance(max_size, bool) or max_size < 0:
        _fail(filter_name, 'max_size is a number of bytes (0 for no limit), not %r' % (max_size,))
    return max_size


def _method(filter_name, method):
    """(coding index, callable or None)."""
    if callable(method):
        return 0, method
    return CODINGS[_coding(filter_name, method)], None


class CompressMixin(PipelineBuilder):
    def compress(self, method, *, level='default'):
        """Compresses each message body, and Data outside messages as one stream ending with the stream. method is
        'gzip', 'deflate' (zlib-wrapped) or 'br' (brotli), or a callable returning one of them, or None to leave a
        body alone, called for each body or stream. level: an int (zlib 1-9, brotli 0-11), 'speed', 'best' or
        'default' (gzip 6, br 5), or a dict of them by method. Message heads pass unchanged (compress_http also
        says so in the head). What came in one read goes out by the end of that read: a streamed body is not held
        back, at the cost of a sync flush (a few bytes) per read."""
        coding, fn = _method('compress', method)
        return self.append(CompressFilter(False, coding, fn, _levels('compress', level), 0))

    def decompress(self, method, *, max_size=DEFAULT_MAX_DECOMPRESSED_SIZE):
        """Decompresses each message body, and Data outside messages as one stream: method is 'gzip', 'deflate'
        (also 'inflate'; zlib-wrapped or raw), 'br' (also 'brotli'), or a callable returning one of them, or None
        to leave it alone. A body that would decompress to more than max_size bytes (64 MiB by default; 0 for no
        limit), or whose bytes are corrupt or cut short, ends the stream with StreamEnd('BufferOverflow') or
        StreamEnd('ProtocolError') and a warning in the log; other streams go on."""
        coding, fn = _method('decompress', method)
        return self.append(CompressFilter(True, coding, fn, (None,) * 4, _max_size('decompress', max_size)))

    def compress_http(self, method=None, *, level='default', types=None, min_size=DEFAULT_MIN_COMPRESS_SIZE,
                      accept_encoding=None):
        """Compresses HTTP responses as nginx's gzip does, for a client that accepts it. Put it where the responses
        come out of a demux_http request pipeline (after mux_http, serve_http, replace_message...).

        method: the codings offered, best first: a name ('gzip', 'deflate', 'br'), a list of them, or a
        callable(MessageStart) returning either, or None to leave that response alone. Default: br then gzip.
        The request's Accept-Encoding picks among them (q-values, identity, *, as serve_files does).
        level: an int (zlib 1-9, brotli 0-11), 'speed', 'best' or 'default' (gzip 6, br 5), or a dict by method.
        types: the content types compressed (lower case; 'text/*' for a whole type); default
        DEFAULT_COMPRESS_TYPES: text, JSON, JavaScript, XML, SVG, YAML, wasm and a few fonts.
        min_size: a body smaller than this is left alone (256); a response without Content-Length waits for that
        many bytes, its end, or the end of the read that brought its first bytes.
        accept_encoding: where there is no request to ask (not under demux_http), the Accept-Encoding value to
        honour, or a callable returning it; without one, the first method offered is used.

        Left alone: responses to HEAD, statuses without a body (1xx, 204, 304), 206 and anything with
        Content-Range, a Content-Encoding already set, Cache-Control: no-transform, other types, small bodies.
        A compressed response gets Content-Encoding, Vary: Accept-Encoding (any response that could have been
        compressed gets the Vary), a weak ETag, no Content-Length or Accept-Ranges; it goes with a Content-Length
        when it all came in one read, chunked otherwise."""
        if method is None:
            offered = ('br', 'gzip') if HAVE_BROTLI else ('gzip',)
        elif callable(method):
            offered = method
        else:
            names = (method,) if isinstance(method, str) else tuple(method)
            if not names:
                _fail('compress_http', 'method names no coding')
            offered = tuple(_coding('compress_http', m) for m in names)
        if types is None:
            types = DEFAULT_COMPRESS_TYPES
        elif isinstance(types, str):
            types = (types,)
        types = frozenset(t.strip().lower() for t in types)
        if not isinstance(min_size, int) or isinstance(min_size, bool) or min_size < 0:
            _fail('compress_http', 'min_size is a number of bytes, not %r' % (min_size,))
        options = CompressHttpOptions(offered, _levels('compress_http', level), types, min_size, Negotiator(),
                                      accept_encoding)
        return self.append(CompressHTTP(options))

    def decompress_http(self, enable=None, *, max_size=DEFAULT_MAX_DECOMPRESSED_SIZE):
        """Decompresses an HTTP message (request or response) whose Content-Encoding is gzip, x-gzip, deflate or
        br, and takes Content-Encoding and Content-Length out of its head (its ETag becomes weak); the body goes on
        chunked. Other codings, several codings, and 206 responses pass as they are. enable: a value or callable
        (evaluated per message) that turns it off when false. max_size: as decompress's (64 MiB; 0 for none): a
        body over it, corrupt, or cut short ends the stream with a warning in the log."""
        return self.append(DecompressHTTP(enable, _max_size('decompress_http', max_size)))
