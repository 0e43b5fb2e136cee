"""Routing, load-balancing and quota algorithms for pipyx.

Routers, balancers and the cache are pure Python; Quota, which the throttle
filters take from on every event, is native. Nothing here is thread-safe:
like Pipy, each worker is expected to own its objects.
"""

import bisect
import hashlib
import time
from collections import OrderedDict

from ._native import Quota  # noqa: F401  (algo.Quota, as in Pipy; defined in native/filters/quota.pxi)

_MISS = object()  # distinguishes "not found" from a stored None


def _normalize_host(host):
    """Lower-case a host and drop any ``:port`` (IPv6 literals keep brackets)."""
    if not host:
        return ''
    host = host.lower()
    if host.startswith('['):
        end = host.find(']')
        return host[:end + 1] if end > 0 else host
    colon = host.find(':')
    # More than one colon means a bare IPv6 address, which has no port.
    if colon >= 0 and host.find(':', colon + 1) < 0:
        host = host[:colon]
    return host


class _PathTable:
    """Paths of one host: exact paths in a dict, prefixes grouped by length."""

    def __init__(self):
        self.exact = {}
        self.prefixes = {}
        self.prefix_lengths = ()

    def compile(self):
        self.prefix_lengths = sorted({len(p) for p in self.prefixes}, reverse=True)

    def match(self, path):
        value = self.exact.get(path, _MISS)
        if value is not _MISS:
            return value
        # One dict probe per distinct prefix length, longest first, instead
        # of testing every prefix with startswith().
        prefixes = self.prefixes
        for length in self.prefix_lengths:
            if length <= len(path):
                value = prefixes.get(path[:length], _MISS)
                if value is not _MISS:
                    return value
        return _MISS


class URLRouter:
    """Maps a request's host and path to a value.

    Patterns are ``'host/path'`` or ``'/path'`` (any host):

    * host: exact (``example.com``), wildcard suffix (``*.example.com``,
      matching any subdomain but not ``example.com`` itself), or ``*`` /
      empty for any host. Hosts compare case-insensitively and a ``:port``
      is ignored, in patterns and in requests.
    * path: exact (``/api/users``) or a prefix ending in ``*`` (``/api/*``
      matches ``/api/`` and ``/api/x`` but not ``/api``; ``/*`` matches all).
      A pattern with no path (``example.com``) means ``/*``.

    ``find`` picks the most specific host first: exact, then wildcard
    suffixes longest first, then any host. Within a host an exact path
    beats any prefix, and the longest prefix wins. If the chosen host has no
    matching path, less specific hosts are tried. A query string in the
    request path is ignored. Returns None when nothing matches.
    """

    def __init__(self, routes=None, cache_size=1024):
        self._exact_hosts = {}
        self._wildcard_hosts = {}  # keyed by suffix including the dot: '.example.com'
        self._any_host = _PathTable()
        self._cache = {}
        self._cache_size = cache_size
        self._dirty = False
        for pattern, value in (routes or {}).items():
            self.add(pattern, value)

    def add(self, pattern, value):
        """Add a route, replacing any earlier value for the same pattern."""
        slash = pattern.find('/')
        host, path = (pattern, '/*') if slash < 0 else (pattern[:slash], pattern[slash:])
        host = _normalize_host(host)
        if host in ('', '*'):
            table = self._any_host
        elif host.startswith('*.') and '*' not in host[1:]:
            table = self._wildcard_hosts.setdefault(host[1:], _PathTable())
        elif '*' in host:
            raise ValueError('bad host wildcard in route %r' % pattern)
        else:
            table = self._exact_hosts.setdefault(host, _PathTable())
        if '*' in path[:-1]:
            raise ValueError("'*' is only allowed at the end of path in %r" % pattern)
        if path.endswith('*'):
            table.prefixes[path[:-1]] = value
        else:
            table.exact[path] = value
        self._dirty = True
        self._cache.clear()

    def find(self, host, path):
        """Return the value of the best route for ``host`` and ``path``, or None."""
        query = path.find('?')
        if query >= 0:
            path = path[:query]
        key = (host, path)
        value = self._cache.get(key, _MISS)
        if value is not _MISS:
            return value
        if self._dirty:
            self._compile()
        value = self._resolve(_normalize_host(host), path or '/')
        cache = self._cache
        if len(cache) >= self._cache_size:
            # Dicts keep insertion order, so this evicts the oldest entry.
            del cache[next(iter(cache))]
        cache[key] = value
        return value

    def _compile(self):
        for table in (*self._exact_hosts.values(), *self._wildcard_hosts.values(), self._any_host):
            table.compile()
        self._dirty = False

    def _resolve(self, host, path):
        table = self._exact_hosts.get(host)
        if table is not None:
            value = table.match(path)
            if value is not _MISS:
                return value
        if self._wildcard_hosts:
            # Walk suffixes from longest ('.b.example.com') to shortest ('.com').
            dot = host.find('.')
            while dot >= 0:
                table = self._wildcard_hosts.get(host[dot:])
                if table is not None:
                    value = table.match(path)
                    if value is not _MISS:
                        return value
                dot = host.find('.', dot + 1)
        value = self._any_host.match(path)
        return None if value is _MISS else value


class _Slot:
    """Per-target state shared by a balancer and its allocations."""

    __slots__ = ('target', 'weight', 'current', 'active')

    def __init__(self, target, weight):
        self.target = target
        self.weight = weight
        self.current = 0  # smooth round-robin running weight
        self.active = 0   # allocations not yet freed


class Allocation:
    """A target handed out by ``allocate``; call ``free()`` when done with it."""

    __slots__ = ('target', '_slot')

    def __init__(self, slot):
        self.target = slot.target
        self._slot = slot

    def free(self):
        """Release the allocation. Freeing twice does nothing."""
        slot = self._slot
        if slot is not None:
            self._slot = None
            slot.active -= 1


def _parse_targets(targets):
    """Turn a list (weight 1 each, duplicates add up) or dict into {target: weight}."""
    if isinstance(targets, dict):
        weights = {}
        for target, weight in targets.items():
            if not isinstance(weight, int) or isinstance(weight, bool) or weight < 0:
                raise ValueError('weight of %r must be a non-negative int' % (target,))
            weights[target] = weight
        return weights
    weights = {}
    for target in targets or ():
        weights[target] = weights.get(target, 0) + 1
    return weights


class LoadBalancer:
    """Base class: holds weighted targets and hands out allocations.

    Targets are a list (weight 1 each; a repeated target adds up) or a dict
    ``{target: weight}``; weight 0 keeps a target listed but never chosen.
    ``unhealthy`` is any container of targets to skip. Subclasses implement
    ``_choose(key, unhealthy)`` returning a slot or None.
    """

    def __init__(self, targets=None):
        self._slots = []
        self.set_targets(targets)

    @property
    def targets(self):
        """The configured targets, in order."""
        return [slot.target for slot in self._slots]

    def set_targets(self, targets):
        """Replace the targets; allocations of removed targets free harmlessly."""
        old = {slot.target: slot for slot in self._slots}
        slots = []
        for target, weight in _parse_targets(targets).items():
            # Reuse a surviving slot so its in-flight allocations stay counted.
            slot = old.get(target) or _Slot(target, weight)
            slot.weight = weight
            slot.current = 0
            slots.append(slot)
        self._slots = slots
        self._targets_changed()

    def _targets_changed(self):
        """Hook for subclasses that precompute from the targets."""

    def allocate(self, key=None, unhealthy=None):
        """Choose a target and count it as in use; None if nothing is available."""
        slot = self._choose(key, unhealthy)
        if slot is None:
            return None
        slot.active += 1
        return Allocation(slot)

    def next(self, key=None, unhealthy=None):
        """Choose a target without counting it as in use; None if none available."""
        slot = self._choose(key, unhealthy)
        return None if slot is None else slot.target

    def _choose(self, key, unhealthy):
        raise NotImplementedError

    def _round_robin(self, unhealthy):
        # nginx's smooth weighted round robin: every candidate gains its
        # weight, the richest wins and pays back the total, which spreads a
        # heavy target's turns evenly instead of bunching them.
        best, total = None, 0
        for slot in self._slots:
            if slot.weight <= 0 or (unhealthy and slot.target in unhealthy):
                continue
            slot.current += slot.weight
            total += slot.weight
            if best is None or slot.current > best.current:
                best = slot
        if best is not None:
            best.current -= total
        return best


class RoundRobinLoadBalancer(LoadBalancer):
    """Smooth weighted round robin: picks in exact proportion to weights."""

    def _choose(self, key, unhealthy):
        return self._round_robin(unhealthy)


class LeastWorkLoadBalancer(LoadBalancer):
    """Picks the target with the lowest ``(active + 1) / weight``.

    ``active`` counts allocations not yet freed. Ties go round robin.
    """

    def __init__(self, targets=None):
        self._cursor = 0
        super().__init__(targets)

    def _choose(self, key, unhealthy):
        slots, count = self._slots, len(self._slots)
        best, best_index = None, 0
        # Scanning from a rotating start makes the first of equal scores win,
        # which turns ties into round robin.
        for offset in range(count):
            index = (self._cursor + offset) % count
            slot = slots[index]
            if slot.weight <= 0 or (unhealthy and slot.target in unhealthy):
                continue
            # Cross-multiplied to compare load ratios without floats.
            if best is None or (slot.active + 1) * best.weight < (best.active + 1) * slot.weight:
                best, best_index = slot, index
        if best is not None:
            self._cursor = (best_index + 1) % count
        return best


def _stable_hash(data):
    """64-bit hash that, unlike hash(), is the same in every process."""
    if not isinstance(data, bytes):
        data = str(data).encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), 'big')


class HashingLoadBalancer(LoadBalancer):
    """Consistent hashing: the same key goes to the same target.

    Each target owns ``weight * replicas`` points on a hash ring and a key
    goes to the owner of the first point at or after the key's hash. Removing
    a target (or marking it unhealthy) only moves the keys it owned. With
    ``key=None`` it falls back to weighted round robin.
    """

    def __init__(self, targets=None, replicas=100):
        self._replicas = replicas
        self._ring_hashes, self._ring_slots = [], []
        super().__init__(targets)

    def _targets_changed(self):
        points = []
        for slot in self._slots:
            for i in range(slot.weight * self._replicas):
                points.append((_stable_hash('%s#%d' % (slot.target, i)), str(slot.target), slot))
        # The target name breaks hash ties so the ring never depends on order.
        points.sort(key=lambda point: point[:2])
        self._ring_hashes = [point[0] for point in points]
        self._ring_slots = [point[2] for point in points]

    def _choose(self, key, unhealthy):
        if key is None:
            return self._round_robin(unhealthy)
        ring = self._ring_slots
        if not ring:
            return None
        start = bisect.bisect_left(self._ring_hashes, _stable_hash(key))
        size = len(ring)
        for step in range(size):
            slot = ring[(start + step) % size]
            if not (unhealthy and slot.target in unhealthy):
                return slot
        return None


class Cache:
    """Small LRU cache bounded by entry count, with an optional TTL in seconds."""

    def __init__(self, max_size=1024, ttl=None, clock=time.monotonic):
        if max_size < 1:
            raise ValueError('max_size must be at least 1')
        self._entries = OrderedDict()  # key -> (value, expiry time or None)
        self._max_size = max_size
        self._ttl = ttl
        self._clock = clock

    def get(self, key, default=None):
        """Return the value for ``key`` (marking it recently used) or ``default``."""
        entry = self._entries.get(key)
        if entry is None:
            return default
        value, expires = entry
        if expires is not None and self._clock() >= expires:
            del self._entries[key]
            return default
        self._entries.move_to_end(key)
        return value

    def set(self, key, value):
        """Store ``value``, evicting the least recently used entry when full."""
        expires = None if self._ttl is None else self._clock() + self._ttl
        entries = self._entries
        entries[key] = (value, expires)
        entries.move_to_end(key)
        if len(entries) > self._max_size:
            entries.popitem(last=False)

    def remove(self, key):
        """Drop ``key`` if present."""
        self._entries.pop(key, None)

    def clear(self):
        """Drop every entry."""
        self._entries.clear()

    def __len__(self):
        return len(self._entries)

    def __contains__(self, key):
        return self.get(key, _MISS) is not _MISS
