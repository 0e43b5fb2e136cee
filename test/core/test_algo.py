import gc
import os
import subprocess
import sys
from collections import Counter

import pytest
from hypothesis import given, settings, strategies as st

from pipyx.algo import (
    Cache, HashingLoadBalancer, LeastWorkLoadBalancer, RoundRobinLoadBalancer, URLRouter,
)
from test.helpers import ROOT




# ---------------------------------------------------------------- URLRouter

@pytest.fixture
def router():
    return URLRouter({
        'example.com/api/users': 'exact-host exact-path',
        'example.com/api/*': 'exact-host api-prefix',
        'example.com/*': 'exact-host root',
        '*.example.com/*': 'wild root',
        '*.example.com/static/*': 'wild static',
        '*.b.example.com/*': 'wild-b root',
        '/health': 'any health',
        '/*': 'any root',
    })


@pytest.mark.parametrize('host, path, expected', [
    ('example.com', '/api/users', 'exact-host exact-path'),
    ('example.com', '/api/users/1', 'exact-host api-prefix'),
    ('example.com', '/api/', 'exact-host api-prefix'),
    ('example.com', '/api', 'exact-host root'),          # '/api/*' needs the slash
    ('example.com', '/other', 'exact-host root'),
    ('a.example.com', '/x', 'wild root'),
    ('a.example.com', '/static/app.js', 'wild static'),  # longest prefix wins
    ('x.a.example.com', '/x', 'wild root'),              # any depth of subdomain
    ('c.b.example.com', '/static/app.js', 'wild-b root'),  # longer suffix host beats longer path
    ('other.org', '/x', 'any root'),
    ('other.org', '/health', 'any health'),
])
def test_router_precedence(router, host, path, expected):
    assert router.find(host, path) == expected


def test_router_exact_host_beats_wildcard_and_any(router):
    # '/health' exists only for any host, but example.com's '/*' matches first.
    assert router.find('example.com', '/health') == 'exact-host root'
    assert router.find('a.example.com', '/health') == 'wild root'


def test_router_wildcard_does_not_match_bare_domain():
    r = URLRouter({'*.example.com/*': 'wild'})
    assert r.find('example.com', '/') is None
    assert r.find('notexample.com', '/') is None
    assert r.find('a.example.com', '/') == 'wild'


def test_router_host_case_and_port_ignored(router):
    assert router.find('EXAMPLE.com:8080', '/api/users') == 'exact-host exact-path'
    assert router.find('A.Example.COM:443', '/static/x') == 'wild static'
    r = URLRouter({'Example.COM:9000/x': 1})
    assert r.find('example.com', '/x') == 1


def test_router_ipv6_host():
    r = URLRouter({'[::1]/x': 'v6', '/*': 'any'})
    assert r.find('[::1]:8080', '/x') == 'v6'
    assert r.find('[::2]:8080', '/x') == 'any'


def test_router_query_string_ignored(router):
    assert router.find('example.com', '/api/users?id=1') == 'exact-host exact-path'
    assert router.find('other.org', '/health?verbose') == 'any health'


def test_router_exact_path_beats_prefix_of_same_length():
    r = URLRouter({'/a/': 'exact', '/a/*': 'prefix'})
    assert r.find('h', '/a/') == 'exact'
    assert r.find('h', '/a/b') == 'prefix'


def test_router_falls_back_to_less_specific_host():
    r = URLRouter({
        'example.com/api': 'exact',
        '*.com/static/*': 'wild',
        '/*': 'any',
    })
    assert r.find('example.com', '/api') == 'exact'
    assert r.find('example.com', '/static/x') == 'wild'
    assert r.find('example.com', '/elsewhere') == 'any'


def test_router_no_match_returns_none():
    r = URLRouter({'example.com/api/*': 1})
    assert r.find('example.com', '/') is None
    assert r.find('other.com', '/api/x') is None
    assert URLRouter().find('h', '/') is None


def test_router_host_only_pattern_means_any_path():
    r = URLRouter({'example.com': 'site', '*': 'fallback'})
    assert r.find('example.com', '/deep/path') == 'site'
    assert r.find('other.com', '/deep/path') == 'fallback'


def test_router_add_after_find_updates_results():
    r = URLRouter({'/*': 'root'})
    assert r.find('h', '/api/x') == 'root'
    r.add('/api/*', 'api')
    assert r.find('h', '/api/x') == 'api'
    r.add('/api/*', 'api2')  # replaces
    assert r.find('h', '/api/x') == 'api2'


def test_router_cache_stays_bounded_and_correct():
    r = URLRouter({'/a/*': 'a', '/*': 'root'}, cache_size=4)
    for i in range(20):
        assert r.find('h%d' % i, '/a/%d' % i) == 'a'
        assert r.find('h%d' % i, '/b') == 'root'
    assert len(r._cache) <= 4


@pytest.mark.parametrize('pattern', ['ex*ample.com/', 'a.*.com/', '/a*/b'])
def test_router_rejects_misplaced_wildcards(pattern):
    with pytest.raises(ValueError):
        URLRouter({pattern: 1})


@given(st.lists(st.text('ab/', max_size=6).map(lambda s: '/' + s), min_size=1, max_size=8),
       st.text('ab/', max_size=8).map(lambda s: '/' + s))
def test_router_longest_prefix_matches_brute_force(prefixes, path):
    r = URLRouter({p + '*': p for p in prefixes})
    matching = [p for p in prefixes if path.startswith(p)]
    assert r.find('h', path) == (max(matching, key=len) if matching else None)


# ------------------------------------------------------- shared balancer API

ALL_BALANCERS = [RoundRobinLoadBalancer, LeastWorkLoadBalancer, HashingLoadBalancer]


@pytest.mark.parametrize('cls', ALL_BALANCERS)
@pytest.mark.parametrize('key', [None, 'some-key'])
def test_balancer_no_targets_returns_none(cls, key):
    for lb in (cls(), cls([]), cls({'a': 0})):
        assert lb.allocate(key) is None
        assert lb.next(key) is None


@pytest.mark.parametrize('cls', ALL_BALANCERS)
@pytest.mark.parametrize('key', [None, 'some-key'])
def test_balancer_skips_unhealthy(cls, key):
    lb = cls({'a': 1, 'b': 1, 'c': 1})
    for _ in range(20):
        assert lb.next(key, unhealthy={'a', 'b'}) == 'c'
        assert lb.allocate(key, unhealthy={'a', 'c'}).target == 'b'
    assert lb.next(key, unhealthy={'a', 'b', 'c'}) is None
    assert lb.allocate(key, unhealthy={'a', 'b', 'c'}) is None


@pytest.mark.parametrize('cls', ALL_BALANCERS)
def test_balancer_targets_and_set_targets(cls):
    lb = cls(['a:1', 'b:2'])
    assert lb.targets == ['a:1', 'b:2']
    lb.set_targets({'c:3': 2})
    assert lb.targets == ['c:3']
    assert {lb.next() for _ in range(5)} == {'c:3'}
    assert {lb.next('k%d' % i) for i in range(20)} == {'c:3'}


@pytest.mark.parametrize('cls', ALL_BALANCERS)
def test_balancer_rejects_bad_weights(cls):
    for weights in ({'a': -1}, {'a': 1.5}, {'a': '2'}):
        with pytest.raises(ValueError):
            cls(weights)


# --------------------------------------------------------------- round robin

def test_round_robin_sequence_for_one_two():
    lb = RoundRobinLoadBalancer({'a': 1, 'b': 2})
    assert [lb.next() for _ in range(6)] == ['b', 'a', 'b'] * 2


def test_round_robin_list_means_equal_weights():
    lb = RoundRobinLoadBalancer(['a', 'b', 'c'])
    assert [lb.next() for _ in range(6)] == ['a', 'b', 'c'] * 2


def test_round_robin_spreads_light_target_evenly():
    lb = RoundRobinLoadBalancer({'a': 1, 'b': 5})
    picks = [lb.next() for _ in range(60)]
    a_positions = [i for i, t in enumerate(picks) if t == 'a']
    assert len(a_positions) == 10
    # Exactly one 'a' in every cycle of 6, never back to back.
    assert all(later - earlier == 6 for earlier, later in zip(a_positions, a_positions[1:]))


def test_round_robin_heavy_target_is_interleaved():
    # nginx's documented example: {a:5, b:1, c:1} -> a a b a c a a
    lb = RoundRobinLoadBalancer({'a': 5, 'b': 1, 'c': 1})
    assert [lb.next() for _ in range(7)] == list('aabacaa')


@settings(max_examples=60)
@given(st.dictionaries(st.sampled_from('abcdefg'), st.integers(0, 8), min_size=1),
       st.integers(1, 3))
def test_round_robin_exact_proportions(weights, rounds):
    lb = RoundRobinLoadBalancer(weights)
    total = sum(weights.values())
    counts = Counter(lb.next() for _ in range(total * rounds))
    expected = {t: w * rounds for t, w in weights.items() if w > 0}
    if total == 0:
        assert lb.next() is None
    else:
        assert dict(counts) == expected


def test_round_robin_unhealthy_keeps_proportions_among_rest():
    lb = RoundRobinLoadBalancer({'a': 1, 'b': 2, 'c': 3})
    counts = Counter(lb.next(unhealthy={'c'}) for _ in range(30))
    assert counts == {'a': 10, 'b': 20}


# ---------------------------------------------------------------- least work

def test_least_work_picks_least_loaded_and_respects_free():
    lb = LeastWorkLoadBalancer(['a', 'b', 'c'])
    first = [lb.allocate() for _ in range(3)]
    assert sorted(x.target for x in first) == ['a', 'b', 'c']
    by_target = {x.target: x for x in first}
    by_target['b'].free()
    # b is now the only one with no work, so it is chosen.
    second = lb.allocate()
    assert second.target == 'b'
    by_target['a'].free()
    by_target['c'].free()
    assert {lb.allocate().target, lb.allocate().target} == {'a', 'c'}


def test_least_work_weights_scale_capacity():
    lb = LeastWorkLoadBalancer({'a': 1, 'b': 3})
    held = [lb.allocate() for _ in range(8)]
    assert Counter(x.target for x in held) == {'a': 2, 'b': 6}


def test_least_work_double_free_is_noop():
    lb = LeastWorkLoadBalancer(['a', 'b'])
    a = lb.allocate()
    b = lb.allocate()
    assert (a.target, b.target) == ('a', 'b')
    a.free()
    a.free()  # must not make 'a' look less loaded than idle
    # a is idle and b holds one: a is picked, then they tie and b is next.
    assert [lb.allocate().target, lb.allocate().target] == ['a', 'b']
    b.free()


def test_least_work_ties_round_robin_without_allocations():
    lb = LeastWorkLoadBalancer(['a', 'b', 'c'])
    assert [lb.next() for _ in range(6)] == ['a', 'b', 'c'] * 2


def test_least_work_free_after_removal_is_harmless():
    lb = LeastWorkLoadBalancer(['a', 'b'])
    held = [lb.allocate() for _ in range(4)]
    lb.set_targets(['b', 'c'])
    for x in held:
        x.free()
    # b's in-flight work was freed, and the stale 'a' frees touched nothing.
    assert Counter(lb.allocate().target for _ in range(4)) == {'b': 2, 'c': 2}


def test_least_work_readded_target_is_not_affected_by_old_frees():
    lb = LeastWorkLoadBalancer(['a', 'b'])
    old_a, _held_b = lb.allocate(), lb.allocate()
    assert old_a.target == 'a'
    lb.set_targets(['b'])
    lb.set_targets(['a', 'b'])
    held_a = lb.allocate(unhealthy={'b'})
    assert held_a.target == 'a'
    old_a.free()  # belongs to the removed 'a'; must not free the new one
    # Each target holds one allocation, so they tie and alternate.
    assert sorted([lb.next(), lb.next()]) == ['a', 'b']


# ------------------------------------------------------------------- hashing

def test_hashing_same_key_same_target():
    lb = HashingLoadBalancer(['a', 'b', 'c', 'd'])
    for i in range(200):
        key = 'client-%d' % i
        assert len({lb.next(key) for _ in range(5)}) == 1
        assert lb.allocate(key).target == lb.next(key)


def test_hashing_is_stable_across_instances_and_order():
    keys = ['k%d' % i for i in range(300)]
    one = HashingLoadBalancer(['a', 'b', 'c'])
    two = HashingLoadBalancer(['c', 'a', 'b'])
    assert [one.next(k) for k in keys] == [two.next(k) for k in keys]


def test_hashing_mapping_is_the_same_in_every_process():
    # Workers in separate processes must agree, so the ring cannot use hash().
    script = (
        'from pipyx.algo import HashingLoadBalancer as H\n'
        'lb = H(["a", "b", "c", "d"])\n'
        'print([lb.next("key-%d" % i) for i in range(100)])\n'
    )
    outputs = set()
    for seed in ('1', '2'):
        env = dict(os.environ, PYTHONHASHSEED=seed,
                   PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get('PYTHONPATH')])))
        outputs.add(subprocess.run([sys.executable, '-c', script], env=env, check=True,
                                   capture_output=True, text=True).stdout)
    assert len(outputs) == 1


def test_hashing_spreads_by_weight():
    lb = HashingLoadBalancer({'a': 1, 'b': 3, 'c': 0})
    counts = Counter(lb.next('key-%d' % i) for i in range(4000))
    assert 'c' not in counts
    assert 0.6 < counts['b'] / 4000 < 0.9


def test_hashing_without_key_round_robins():
    lb = HashingLoadBalancer({'a': 1, 'b': 2})
    assert [lb.next() for _ in range(6)] == ['b', 'a', 'b'] * 2


@settings(max_examples=50)
@given(st.lists(st.text(min_size=1, max_size=10), min_size=1, max_size=60, unique=True),
       st.lists(st.sampled_from('abcdef'), min_size=2, max_size=6, unique=True),
       st.data())
def test_hashing_removal_moves_only_the_removed_targets_keys(keys, targets, data):
    removed = data.draw(st.sampled_from(targets))
    lb = HashingLoadBalancer(targets, replicas=20)
    before = {k: lb.next(k) for k in keys}
    lb.set_targets([t for t in targets if t != removed])
    for key in keys:
        after = lb.next(key)
        assert after != removed
        if before[key] != removed:
            assert after == before[key]


@settings(max_examples=50)
@given(st.lists(st.text(min_size=1, max_size=10), min_size=1, max_size=60, unique=True),
       st.lists(st.sampled_from('abcdef'), min_size=2, max_size=6, unique=True),
       st.data())
def test_hashing_unhealthy_moves_only_its_keys(keys, targets, data):
    sick = data.draw(st.sampled_from(targets))
    lb = HashingLoadBalancer(targets, replicas=20)
    for key in keys:
        healthy = lb.next(key)
        rerouted = lb.next(key, unhealthy={sick})
        assert rerouted != sick
        if healthy != sick:
            assert rerouted == healthy


# --------------------------------------------------------------------- Cache

class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_cache_evicts_least_recently_used():
    cache = Cache(max_size=2)
    cache.set('a', 1)
    cache.set('b', 2)
    assert cache.get('a') == 1  # 'a' is now more recent than 'b'
    cache.set('c', 3)
    assert cache.get('b') is None
    assert cache.get('a') == 1 and cache.get('c') == 3
    assert len(cache) == 2


def test_cache_ttl_expires_entries():
    clock = FakeClock()
    cache = Cache(max_size=10, ttl=5, clock=clock)
    cache.set('a', 1)
    clock.now = 4.9
    assert cache.get('a') == 1
    clock.now = 5.0
    assert cache.get('a', 'gone') == 'gone'
    assert 'a' not in cache


def test_cache_remove_clear_and_none_values():
    cache = Cache(max_size=3)
    cache.set('n', None)
    assert 'n' in cache
    cache.set('x', 1)
    cache.remove('x')
    cache.remove('missing')
    assert cache.get('x') is None and len(cache) == 1
    cache.clear()
    assert len(cache) == 0


# ---------------------------------------------------------------- Quota

def test_quota_consume_takes_what_there_is():
    from pipyx.algo import Quota
    q = Quota(10)
    assert (q.initial, q.current) == (10, 10)
    assert q.consume(4) == 4
    assert q.consume(10) == 6                   # less when there is less
    assert q.consume(1) == 0 and q.current == 0
    q.produce(3)
    assert q.current == 3
    q.reset()
    assert q.current == 10
    q.produce(5)                                # no max: produce can go above initial
    assert q.current == 15
    q.reset()                                   # and reset cuts it back
    assert q.current == 10


def test_quota_max_caps_produce():
    from pipyx.algo import Quota
    q = Quota(2, max=3)
    q.produce(10)
    assert q.current == 3


def test_quotas_with_one_key_share_the_amount():
    from pipyx.algo import Quota
    a = Quota(5, key='test-shared-quota')
    b = Quota(5, key='test-shared-quota')
    assert a.consume(3) == 3
    assert b.current == 2
    assert Quota(5, key='test-other-quota').current == 5
    del a, b
    gc.collect()
    # Nobody holds that key's amount any more: a new quota of the key starts afresh, so keys per client stay bounded.
    assert Quota(5, key='test-shared-quota').current == 5


@pytest.mark.parametrize('per, seconds', [(2, 2.0), ('500ms', 0.5), ('1s', 1.0), ('2m', 120.0), ('1h', 3600.0)])
def test_quota_per_takes_pipy_durations(per, seconds):
    from pipyx._native import parse_seconds
    from pipyx.algo import Quota
    Quota(1, per=per)
    assert parse_seconds(per, 'per') == seconds


@pytest.mark.parametrize('args', [dict(initial=-1), dict(initial=1, per='soon'), dict(initial=1, produce=-2)])
def test_quota_refuses_bad_values(args):
    from pipyx.algo import Quota
    with pytest.raises(ValueError):
        Quota(**args)


def test_quota_comes_back_after_per():
    import asyncio
    from pipyx.algo import Quota

    async def run():
        q = Quota(10, per=0.1, produce=4)
        q.consume(10)
        await asyncio.sleep(0.15)
        first = q.current                       # one step of 4
        await asyncio.sleep(0.3)
        return first, q.current                 # then up to initial, no further
    assert asyncio.run(run()) == (4, 10)


def test_quota_initial_and_per_change_at_run_time():
    import asyncio
    from pipyx.algo import Quota

    async def run():
        q = Quota(10)                           # no per: nothing comes back by itself
        q.consume(10)
        await asyncio.sleep(0.15)
        before = q.current
        q.initial = 20
        q.per = '100ms'                         # now it does, up to the new initial
        await asyncio.sleep(0.25)
        return before, q.current, q.per
    assert asyncio.run(run()) == (0, 20, 0.1)


@given(st.floats(min_value=0, max_value=1e6, allow_nan=False), st.sampled_from(['ms', 's', 'm', 'h', 'd', '']))
def test_quota_durations_round_trip(amount, unit):
    from pipyx._native import parse_seconds
    scale = {'ms': 0.001, 's': 1, 'm': 60, 'h': 3600, 'd': 86400, '': 1}[unit]
    assert parse_seconds('%r%s' % (amount, unit), 'per') == pytest.approx(amount * scale)


@given(st.lists(st.tuples(st.sampled_from(['consume', 'produce']), st.floats(min_value=0, max_value=100)),
                max_size=30))
def test_quota_never_goes_below_zero_or_above_max(steps):
    from pipyx.algo import Quota
    q = Quota(50, max=80)
    model = 50.0
    for op, n in steps:
        if op == 'consume':
            took = q.consume(n)
            assert took == pytest.approx(min(n, model))
            model -= took
        else:
            q.produce(n)
            model = min(80.0, model + n)
        assert 0 <= q.current <= 80
        assert q.current == pytest.approx(model)
