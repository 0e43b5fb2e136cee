"""ResponseCache: a shared cache of an upstream's responses, for a reverse proxy (RFC 9111, the parts a proxy in
front of one site needs).

    cache = ResponseCache(ttl=60)
    pipy().listen(8000).demux_http().to(lambda p: p
        .proxy_cache(cache).to(lambda p: p.mux_http().to(lambda p: p.connect('127.0.0.1:8080'))))

The cache itself knows nothing of pipelines: `lookup(request_head)` says whether a request is answered from the
cache, goes upstream with its response to be stored, or goes upstream untouched; `store(token, response)` keeps a
response; `answer(...)` makes the Message a hit is answered with. The proxy_cache() filter method
(pipyx/filters/proxy_cache.py) wires these into a demux_http request pipeline.

What is stored: responses to GET requests without Authorization or Cookie (unless allowed), with a status in
`statuses`, and neither `no-store`, `private` nor `no-cache` in the response's Cache-Control, no Set-Cookie (unless
allowed), not `Vary: *`, a body up to `max_entry_size`. Fresh for `s-maxage`, else `max-age`, else `Expires` minus
`Date`, else `ttl` seconds (capped by `max_ttl`), less the `Age` the upstream gave. A HEAD request is answered from
a stored GET response. A request that says `Cache-Control: no-cache` or `max-age=0` (or `Pragma: no-cache`) goes
upstream, and its response may replace the stored one; `no-store` in a request keeps its response out. A request
with another method (POST, PUT, DELETE, PATCH) removes what is stored for its URL.
"""
import time
from collections import OrderedDict

from .._native import Message, ResponseHead
from .validators import none_match, not_modified_since, parse_http_date

HIT, MISS, PASS = 'hit', 'miss', 'pass'

# Statuses a cache may store without explicit freshness (RFC 9110 section 15.1, "heuristically cacheable").
CACHEABLE_STATUSES = frozenset((200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501))
_NOT_STORED_FIELDS = frozenset(('connection', 'keep-alive', 'proxy-connection', 'transfer-encoding',
                                'content-length', 'te', 'trailer', 'upgrade', 'age'))
_UNSAFE = frozenset(('POST', 'PUT', 'DELETE', 'PATCH'))
ENTRY_OVERHEAD = 512


def parse_cache_control(value):
    """{directive: value or True} from a Cache-Control field; names lower-cased, quotes removed."""
    out = {}
    if not value:
        return out
    for item in value.split(','):
        name, eq, arg = item.partition('=')
        name = name.strip().lower()
        if name:
            out[name] = arg.strip().strip('"') if eq else True
    return out


def _seconds(v):
    try:
        n = int(v)
    except (TypeError, ValueError):
        return None
    return n if n >= 0 else None


def default_key(head):
    """The cache key of a request: its Host (lower case) and its path with the query string."""
    return (head.headers.get('host', '').lower(), head.path)


class CachedResponse:
    """One stored response. `vary` is ((field name, the request's value), ...) for the fields its Vary lists."""
    __slots__ = ('key', 'status', 'headers', 'body', 'stored_at', 'initial_age', 'lifetime', 'vary', 'nbytes')

    def age(self, now):
        return self.initial_age + max(0, int(now - self.stored_at))

    def fresh(self, now):
        return self.age(now) < self.lifetime


class ResponseCache:
    """A bounded, least-recently-used cache of upstream responses; see the module's docstring for what is stored.

    ttl             seconds a cacheable response is fresh when the upstream gives no freshness (0: only responses
                    with max-age, s-maxage or Expires are stored)
    max_ttl         a cap on any freshness lifetime (None: no cap)
    max_size        bytes of bodies and headers in all, least recently used evicted first
    max_entry_size  the largest body stored
    key             key(request_head) -> a hashable: what makes two requests the same (default: Host + path + query)
    cache_authorized  store responses to requests with Authorization (only those marked public, s-maxage or
                    must-revalidate, as RFC 9111 section 3.5 says)
    cache_cookies   look up and store for requests with Cookie, and store responses with Set-Cookie
    statuses        the response statuses stored
    cache_header    a field added to every response the proxy_cache filter sends: `hit` or `miss` (None: none)
    """

    def __init__(self, ttl=60, max_size=64 << 20, max_entry_size=1 << 20, key=None, max_ttl=None,
                 cache_authorized=False, cache_cookies=False, statuses=CACHEABLE_STATUSES, cache_header=None):
        if ttl < 0 or max_size < 0 or max_entry_size < 0:
            raise ValueError('ttl, max_size and max_entry_size must not be negative')
        self.ttl = ttl
        self.max_ttl = max_ttl
        self.max_size = int(max_size)
        self.max_entry_size = int(max_entry_size)
        self.key = key or default_key
        self.cache_authorized = bool(cache_authorized)
        self.cache_cookies = bool(cache_cookies)
        self.statuses = frozenset(statuses)
        self.cache_header = cache_header.lower() if cache_header else None
        self.entries = OrderedDict()            # key -> [CachedResponse, ...] (one per Vary combination)
        self.size = 0
        self.hits = self.misses = self.passes = self.stores = self.evictions = 0

    # -- requests ----------------------------------------------------------------------------------------------

    def lookup(self, head, now=None):
        """(HIT, CachedResponse), (MISS, token for store()), or (PASS, None): go upstream, store nothing."""
        method = head.method
        if method != 'GET' and method != 'HEAD':
            if method in _UNSAFE:
                self.invalidate(self.key(head))
            self.passes += 1
            return PASS, None
        h = head.headers
        authorized = 'authorization' in h
        if (authorized and not self.cache_authorized) or ('cookie' in h and not self.cache_cookies) \
                or 'range' in h:
            self.passes += 1
            return PASS, None
        now = time.time() if now is None else now
        key = self.key(head)
        cc = parse_cache_control(h.get('cache-control'))
        reload = 'no-cache' in cc or cc.get('max-age') == '0' or \
            ('pragma' in h and 'no-cache' in h['pragma'].lower() and 'cache-control' not in h)
        if not reload:
            found = self._find(key, h, now, _seconds(cc.get('max-age')))
            if found is not None:
                self.hits += 1
                return HIT, found
        if method == 'HEAD' or 'no-store' in cc:
            self.passes += 1
            return PASS, None
        self.misses += 1
        return MISS, (key, h, now, authorized)

    def _find(self, key, h, now, max_age):
        variants = self.entries.get(key)
        if not variants:
            return None
        for r in list(variants):
            if not all((h.get(name) or '') == value for name, value in r.vary):
                continue
            if not r.fresh(now):
                self._drop(key, r)
                continue
            if max_age is not None and r.age(now) > max_age:
                continue
            self.entries.move_to_end(key)
            return r
        return None

    def answer(self, r, request_head, now=None):
        """The response to a request from a stored one: `Age` set, a 304 when the request's validators match."""
        now = time.time() if now is None else now
        h = request_head.headers
        etag = r.headers.get('etag')
        inm = h.get('if-none-match')
        if (inm is not None and etag and none_match(inm, etag)) or (
                inm is None and 'if-modified-since' in h and 'last-modified' in r.headers and
                not_modified_since(h['if-modified-since'], parse_http_date(r.headers['last-modified']) or 0)):
            fields = {k: v for k, v in r.headers.items()
                      if k in ('etag', 'cache-control', 'vary', 'expires', 'date', 'content-location')}
            fields['age'] = str(r.age(now))
            if self.cache_header:
                fields[self.cache_header] = HIT
            return Message(ResponseHead(304, fields))
        rh = ResponseHead(r.status, r.headers)
        rh.headers['age'] = str(r.age(now))
        if self.cache_header:
            rh.headers[self.cache_header] = HIT
        rh.content_length = len(r.body)
        return Message(rh, r.body)

    # -- responses ---------------------------------------------------------------------------------------------

    def store(self, token, response, now=None):
        """Keeps the upstream's response to the request of token (from lookup) when it may be; True if kept."""
        key, req_headers, requested_at, authorized = token
        head = response.head
        status = getattr(head, 'status', 200)
        if status not in self.statuses:
            return False
        h = head.headers
        cc = parse_cache_control(h.get('cache-control'))
        if 'no-store' in cc or 'private' in cc or 'no-cache' in cc:
            return False
        if authorized and not ('public' in cc or 's-maxage' in cc or 'must-revalidate' in cc):
            return False
        if 'set-cookie' in h and not self.cache_cookies:
            return False
        vary_names = [n.strip().lower() for n in h.get('vary', '').split(',') if n.strip()]
        if '*' in vary_names:
            return False
        body = response.body
        if len(body) > self.max_entry_size:
            return False
        if getattr(head, 'content_length', -1) >= 0 and head.content_length != len(body):
            return False                              # cut short: not the whole response
        lifetime = self._lifetime(cc, h, requested_at)
        if lifetime is None or lifetime <= 0:
            return False
        r = CachedResponse()
        r.key = key
        r.status = status
        r.headers = {k: v for k, v in h.items() if k not in _NOT_STORED_FIELDS and k != self.cache_header}
        r.body = body.to_bytes()
        r.stored_at = time.time() if now is None else now
        r.initial_age = _seconds(h.get('age')) or 0
        r.lifetime = lifetime
        r.vary = tuple((n, req_headers.get(n) or '') for n in vary_names)
        r.nbytes = ENTRY_OVERHEAD + len(r.body) + sum(len(k) + len(str(v)) for k, v in r.headers.items())
        if r.nbytes > self.max_size:
            return False
        variants = self.entries.get(key)
        if variants is None:
            variants = self.entries[key] = []
        for old in list(variants):
            if old.vary == r.vary or len(variants) >= 8:
                self._drop(key, old)
        self.entries.setdefault(key, variants).append(r)
        self.entries.move_to_end(key)
        self.size += r.nbytes
        self.stores += 1
        while self.size > self.max_size and self.entries:
            k, vs = next(iter(self.entries.items()))
            self._drop(k, vs[0])
            self.evictions += 1
        return True

    def _lifetime(self, cc, h, requested_at):
        life = _seconds(cc.get('s-maxage'))
        if life is None:
            life = _seconds(cc.get('max-age'))
        if life is None and 'expires' in h:
            expires = parse_http_date(h['expires'])
            if expires is None:
                return 0                                # an invalid Expires means already expired
            date = parse_http_date(h.get('date')) or int(requested_at)
            life = expires - date
        if life is None:
            life = self.ttl
        if self.max_ttl is not None:
            life = min(life, self.max_ttl)
        return life

    # -- housekeeping ------------------------------------------------------------------------------------------

    def _drop(self, key, r):
        variants = self.entries.get(key)
        if variants is None or r not in variants:
            return
        variants.remove(r)
        self.size -= r.nbytes
        if not variants:
            del self.entries[key]

    def invalidate(self, key):
        for r in list(self.entries.get(key, ())):
            self._drop(key, r)

    def clear(self):
        self.entries.clear()
        self.size = 0

    def stats(self):
        """{'hits', 'misses', 'passes', 'stores', 'entries', 'bytes', 'evictions'}"""
        return {'hits': self.hits, 'misses': self.misses, 'passes': self.passes, 'stores': self.stores,
                'entries': sum(len(v) for v in self.entries.values()), 'bytes': self.size,
                'evictions': self.evictions}
