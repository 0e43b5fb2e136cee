"""Directory: a folder served over HTTP, as a serve_http handler.

    from pipyx import pipy
    from pipyx.files import Directory

    pipy().listen(8080).serve_http(Directory('www').serve)

`serve(request)` takes the request Message a serve_http handler gets (or a replace_message callback, inside
demux_http) and returns the response Message, or an awaitable of it when the body has to be read from disk or
compressed off the event loop. Finding what a request names (paths.resolve), describing a file's responses
(representations), keeping them in memory (cache.FileCache) and choosing one for a request (here) are separate, so
a native fast path can answer from an entry of the cache without this module; see docs/files.md.
"""
import asyncio
import fnmatch
import logging
import os
import re
import time

from .._native import Data, Message, ResponseHead
from . import listing, paths
from . import representations as rep
from .cache import FileCache
from .compress import Negotiator
from .mime import MimeTable
from .ranges import (UNSATISFIABLE, content_range, multipart_layout, multipart_length, new_boundary,
                     parse_range)
from .validators import (DateCache, if_range_holds, match_strong, modified_since, none_match,
                         not_modified_since)

log = logging.getLogger('pipyx')

SYNC_COMPRESS_LIMIT = 64 << 10       # bodies above this are compressed on a worker thread, off the event loop
_get = dict.get                      # Headers keys are lower case already: skip its case-folding get()
_ZEROS = Data(bytes(1 << 20))        # stands for the body of a HEAD response that is never read (see _zeros)


def _zeros(n):
    # serve_http gives a HEAD response the Content-Length of the body it is handed, and sends none of it: a large
    # file's HEAD gets a Data of the right length made of views of one shared buffer, not the file's bytes.
    d = Data()
    full, rest = divmod(n, len(_ZEROS))
    for _ in range(full):
        d.push(_ZEROS)
    if rest:
        d.push(_ZEROS.slice(0, rest))
    return d


def _compile_cache_control(rules, default):
    """A function rel_path -> Cache-Control value (or None) from the `cache_control` option."""
    if rules is None:
        return lambda rel: default
    if isinstance(rules, str):
        return lambda rel, v=rules: v
    items = list(rules.items()) if isinstance(rules, dict) else list(rules)
    compiled = []
    for item in items:
        try:
            pattern, value = item
        except (TypeError, ValueError):
            raise ValueError('cache_control: each rule is a (pattern, value) pair, not %r' % (item,))
        if isinstance(pattern, str):
            whole = '/' in pattern
            rx = re.compile(fnmatch.translate(pattern if not whole or pattern.startswith('/') else '/' + pattern))
            compiled.append((rx.match, whole, value))
        elif hasattr(pattern, 'search'):
            compiled.append((pattern.search, True, value))
        else:
            raise ValueError('cache_control: a pattern is a glob string or a compiled regex, not %r' % (pattern,))

    def lookup(rel):
        name = rel.rsplit('/', 1)[-1]
        for match, whole, value in compiled:
            if match(rel if whole else name):
                return value
        return default
    return lookup


class Directory:
    """Serves the files under `root` to GET and HEAD requests; see docs/files.md for every option."""

    # serve_http(directory.serve) answers requests for memory-cached files itself (native/filters/serve_files.pxi)
    # and calls serve() for everything else.

    def __init__(self, root, *, index=('index.html',), listing=False, hidden=False, well_known=True,
                 mime_types=None, default_type='application/octet-stream', charset='utf-8',
                 cache_control=None, default_cache_control='no-cache', headers=None,
                 gzip=True, brotli=True, precompressed=True, min_compress_size=1024, gzip_level=6,
                 brotli_quality=8, max_cache_size=64 << 20, max_file_size=1 << 20, check_interval=1.0,
                 max_read_size=256 << 20, max_ranges=16, cache_header=None, cache=None):
        real = os.path.realpath(os.fspath(root))
        if not os.path.isdir(real):
            raise ValueError("Directory: root '%s' is not a directory" % (root,))
        self.root = real
        self.index = (index,) if isinstance(index, str) else tuple(index or ())
        self.listing = bool(listing)
        self.hidden = bool(hidden)
        self.well_known = bool(well_known)
        self.mime = MimeTable(mime_types, default_type, charset)
        self.cache_control_for = _compile_cache_control(cache_control, default_cache_control)
        self.extra_headers = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
        self.gzip = bool(gzip)
        self.brotli = bool(brotli)
        self.precompressed = bool(precompressed)
        self.min_compress_size = int(min_compress_size)
        if not 1 <= int(gzip_level) <= 9:
            raise ValueError('gzip_level must be 1 to 9, not %r' % (gzip_level,))
        if not 0 <= int(brotli_quality) <= 11:
            raise ValueError('brotli_quality must be 0 to 11, not %r' % (brotli_quality,))
        self.gzip_level = int(gzip_level)
        self.brotli_quality = int(brotli_quality)
        self.max_read_size = int(max_read_size)
        self.max_ranges = int(max_ranges)
        self.cache_header = cache_header.lower() if cache_header else None
        self.cache = cache if cache is not None else FileCache(max_cache_size, max_file_size, check_interval)
        self.negotiator = Negotiator()
        self.dates = DateCache()

    def __repr__(self):
        return 'Directory(%r)' % self.root

    # -- the handler ---------------------------------------------------------------------------------------------

    def serve(self, request):
        """The response to a request Message: a Message, or an awaitable of one."""
        head = request.head
        method = head.method
        if method != 'GET' and method != 'HEAD':
            return self.error(405, {'allow': 'GET, HEAD'})
        target = head.path
        q = target.find('?')
        path, query = (target, '') if q < 0 else (target[:q], target[q:])
        if not path.startswith('/'):
            path = _origin_path(path)
            if path is None:
                return self.error(404)
        cache = self.cache
        now = time.monotonic()
        entry = cache.urls.get(path)
        if entry is not None and now - entry.checked_at < cache.check_interval:
            return self._known(entry, head)
        return self._lookup(path, query, head, entry, now)

    def _known(self, entry, head):
        # An entry of the cache: a file in memory (a hit), or one too big for it whose description is kept so that
        # its requests skip the file system too, while its bytes go out from the file (a miss).
        cache = self.cache
        in_memory = entry.variants['identity'].body is not None
        if in_memory:
            cache.hits += 1
        else:
            cache.misses += 1
        cache.touch(entry)
        return self.respond(entry, head.headers, head.method == 'HEAD', in_memory)

    def _lookup(self, path, query, head, entry, now):
        cache = self.cache
        found = paths.resolve(self.root, path, index=self.index, listing=self.listing, hidden=self.hidden,
                              well_known=self.well_known)
        if found is None:
            if entry is not None:
                cache.remove(entry)
            return self.error(404)
        kind, real, st = found
        if kind == paths.REDIRECT:
            return self.error(301, {'location': path + '/' + query})
        if kind == paths.LISTING:
            return self.message(200, {'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache'},
                                listing.render(real, paths.decode_path(path), self.hidden))
        siblings = rep.find_siblings(self, real, st)
        known = entry if entry is not None else cache.entries.get(real)
        if known is not None:
            if known.cached and known.signature == rep.full_signature(real, st, siblings):
                known.checked_at = now
                cache.add_url(known, path)
                return self._known(known, head)
            cache.remove(known)
        cache.misses += 1
        if cache.admits(st.st_size):
            body = rep.read_file(real, st)
            if body is None:
                return self.error(503, {'retry-after': '1'})  # changed while being read: the next try sees it
            entry = rep.build_entry(self, real, st, siblings, body)
            entry.checked_at = now
            cache.put(entry, path)
        else:
            entry = rep.build_entry(self, real, st, siblings, None)
            entry.checked_at = now
            cache.put(entry, path)             # its description only: a few hundred bytes
        return self.respond(entry, head.headers, head.method == 'HEAD', False)

    # -- choosing the response -----------------------------------------------------------------------------------

    def respond(self, entry, h, is_head, hit):
        """The response for one request (its headers h) to the file of entry: 200, 206, 304, 412 or 416."""
        identity = entry.variants['identity']
        ranges = None
        if not is_head:
            rng = _get(h, 'range')
            if rng is not None:
                if_range = _get(h, 'if-range')
                if if_range is None or if_range_holds(if_range, identity.etag, entry.last_modified):
                    ranges = parse_range(rng, entry.size, self.max_ranges)
        v = identity
        if ranges is None and entry.offered:
            enc = self.negotiator.choose(_get(h, 'accept-encoding'), entry.offered)
            if enc != 'identity':
                v = entry.variants.get(enc)
                if v is None:
                    v = self._new_variant(entry, enc)
                    if isinstance(v, asyncio.Future):
                        return self._after(v, enc, entry, h, is_head, hit)
                    if v is None:
                        v = identity
        # Preconditions, in the order of RFC 9110 section 13.2.2.
        im = _get(h, 'if-match')
        if im is not None:
            if not match_strong(im, v.etag):
                return self.error(412)
        else:
            ius = _get(h, 'if-unmodified-since')
            if ius is not None and modified_since(ius, entry.mtime):
                return self.error(412)
        inm = _get(h, 'if-none-match')
        if inm is not None:
            if none_match(inm, v.etag):
                return self.message(304, v.headers_304, None, hit, stable=True)
        else:
            ims = _get(h, 'if-modified-since')
            if ims is not None and not_modified_since(ims, entry.mtime):
                return self.message(304, v.headers_304, None, hit, stable=True)
        if ranges is None:
            return self.send(200, v.headers, v, None, None, is_head, hit)
        if ranges is UNSATISFIABLE:
            return self.error(416, {'content-range': 'bytes */%d' % entry.size, 'accept-ranges': 'bytes'})
        if len(ranges) == 1:
            (a, b), = ranges
            fields = dict(v.headers)
            fields['content-range'] = content_range(a, b, entry.size)
            return self.send(206, fields, v, [(b'', (a, b))], b'', is_head, hit)
        boundary = new_boundary()
        parts, closing = multipart_layout(ranges, entry.size, entry.content_type, boundary)
        fields = dict(v.headers)
        fields['content-type'] = 'multipart/byteranges; boundary=' + boundary
        return self.send(206, fields, v, parts, closing, is_head, hit)

    def _new_variant(self, entry, enc):
        """Makes entry's variant for coding enc: the variant, None (not worth it: identity instead), or a Future
        when the compression runs on a worker thread."""
        if entry.pending is not None and enc in entry.pending:
            return entry.pending[enc]
        if enc in entry.siblings:
            return self._keep_variant(entry, enc, rep.sibling_variant(self, entry, enc))
        data = entry.variants['identity'].body
        if data is None:
            return None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None                       # called outside the event loop (a test, a tool): no thread either
        if len(data) <= SYNC_COMPRESS_LIMIT or loop is None:
            return self._keep_variant(entry, enc, rep.compressed_variant(self, entry, enc, data))
        fut = loop.run_in_executor(None, rep.compressed_variant, self, entry, enc, data)
        if entry.pending is None:
            entry.pending = {}
        entry.pending[enc] = fut

        def done(f, entry=entry, enc=enc):
            entry.pending.pop(enc, None)
            if not f.cancelled() and f.exception() is None:
                self._keep_variant(entry, enc, f.result())
        fut.add_done_callback(done)
        return fut

    def _keep_variant(self, entry, enc, v):
        if v is None:
            entry.offered = tuple(x for x in entry.offered if x != enc)
            return None
        if enc not in entry.variants:
            entry.variants[enc] = v
            self.cache.grew(entry, v.nbytes)
        return entry.variants[enc]

    async def _after(self, fut, enc, entry, h, is_head, hit):
        # The variant is being compressed on a worker thread: answer once it is there (or known not worth it).
        self._keep_variant(entry, enc, await asyncio.shield(fut))
        r = self.respond(entry, h, is_head, hit)
        return (await r) if asyncio.iscoroutine(r) else r

    # -- building messages ---------------------------------------------------------------------------------------

    def message(self, status, fields, body, hit=False, length=None, stable=False):
        """A response Message: fields plus `date` (and the cache marker when asked for), and the length of the body
        declared so that a large body goes with Content-Length. stable: fields is a dict kept for many responses
        (a variant's), so its copy with the date can be reused within the second."""
        if stable:
            merged = self.dates.stamp(fields)
        else:
            merged = dict(fields)
            merged['date'] = self.dates.now()
        rh = ResponseHead(status, merged)
        if self.cache_header and not hit:
            rh.headers[self.cache_header] = 'miss'
        if length is None and body is not None:
            length = len(body)
        if length is not None:
            rh.content_length = length
        return Message(rh, body)

    def send(self, status, fields, v, parts, closing, is_head, hit):
        """A 200 (parts None: the whole variant) or 206 (parts: [(part head, (first, last))], then closing)."""
        length = v.size if parts is None else (
            parts[0][1][1] - parts[0][1][0] + 1 if len(parts) == 1 else multipart_length(parts, closing))
        if v.body is None and (parts is None or len(parts) == 1):
            # Not in memory: the body is the span of the file itself, which the connection sends with sendfile.
            first = 0 if parts is None else parts[0][1][0]
            return self.message(status, fields, Data.file(v.path, first, length), hit, length, parts is None)
        if is_head:
            body = Data(v.body) if v.body is not None and parts is None else _zeros(length)
            return self.message(status, fields, body, hit, length, parts is None)
        if v.body is not None:
            whole = Data(v.body)
            if parts is None:
                return self.message(status, fields, whole, hit, length, True)
            body = Data()
            for ph, (a, b) in parts:
                if ph:
                    body.push(ph)
                body.push(whole.slice(a, b + 1))
            if closing:
                body.push(closing)
            return self.message(status, fields, body, hit, length, parts is None)
        if length > self.max_read_size:
            log.warning('%s: %d bytes to send is over max_read_size (%d): answered 500', v.path, length,
                        self.max_read_size)
            return self.error(500)
        return self._read_and_send(status, fields, v, parts, closing, length, hit)

    async def _read_and_send(self, status, fields, v, parts, closing, length, hit):
        loop = asyncio.get_running_loop()
        spans = [(0, v.size - 1)] if parts is None else [span for _, span in parts]
        pieces = await loop.run_in_executor(None, _read_spans, v.path, v.size, spans)
        if pieces is None:
            return self.error(503, {'retry-after': '1'})      # changed while being read: the next try sees it
        body = Data()
        if parts is None:
            body.push(pieces[0])
        else:
            for (ph, _), piece in zip(parts, pieces):
                if ph:
                    body.push(ph)
                body.push(piece)
            if closing:
                body.push(closing)
        return self.message(status, fields, body, hit, length, parts is None)

    def error(self, status, fields=None):
        """A short text response: 301, 404, 405, 412, 416, 500, 503."""
        reason = _REASONS.get(status, 'Error')
        h = {'content-type': 'text/plain; charset=utf-8'}
        if fields:
            h.update(fields)
        return self.message(status, h, ('%d %s\n' % (status, reason)).encode(), True)


_REASONS = {301: 'Moved Permanently', 404: 'Not Found', 405: 'Method Not Allowed', 412: 'Precondition Failed',
            416: 'Range Not Satisfiable', 500: 'Internal Server Error', 503: 'Service Unavailable'}


def _origin_path(target):
    """The path of an absolute-form request target ('http://host/path'), or None for any other form."""
    low = target[:8].lower()
    if not (low.startswith('http://') or low.startswith('https://')):
        return None
    slash = target.find('/', target.find('//') + 2)
    return '/' if slash < 0 else target[slash:]


def _read_spans(real, size, spans):
    # On a worker thread: the bytes of each span of a file that must still be `size` bytes long.
    opened = paths.open_regular(real)
    if opened is None:
        return None
    fd, st = opened
    try:
        if st.st_size != size:
            return None
        out = []
        for a, b in spans:
            want = b - a + 1
            got = []
            pos = a
            while want > 0:
                chunk = os.pread(fd, min(want, rep.READ_PIECE), pos)
                if not chunk:
                    return None
                got.append(chunk)
                pos += len(chunk)
                want -= len(chunk)
            out.append(got[0] if len(got) == 1 else b''.join(got))
        return out
    except OSError:
        return None
    finally:
        os.close(fd)
