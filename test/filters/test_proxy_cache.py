"""proxy_cache() / ResponseCache: a caching reverse proxy in front of a real upstream, both pipyx processes on
127.0.0.1. The upstream counts the requests it gets per URL, so every test can tell a hit from a miss."""
import json
import os
import time
import urllib.request

import pytest

from test.helpers import PipyxProcess, RawClient, free_port, simple_request

UPSTREAM = '''\
import json
import time
from email.utils import formatdate
from urllib.parse import parse_qs

from pipyx import pipy, Message, ResponseHead

counts = {}

def handle(req):
    path = req.head.path
    if path == '/__hits':
        return json.dumps(counts)
    counts[path] = counts.get(path, 0) + 1
    q = {k: v[0] for k, v in parse_qs(path.partition('?')[2]).items()}
    h = {'content-type': 'text/plain'}
    if 'cc' in q:
        h['cache-control'] = q['cc']
    if 'expires' in q:
        h['date'] = formatdate(time.time(), usegmt=True)
        h['expires'] = formatdate(time.time() + float(q['expires']), usegmt=True)
    if 'cookie' in q:
        h['set-cookie'] = 'session=1'
    if 'vary' in q:
        h['vary'] = q['vary']
    if 'age' in q:
        h['age'] = q['age']
    if 'etag' in q:
        h['etag'] = '"%s"' % q['etag']
    body = 'n=%d %s %s\\n' % (counts[path], req.head.method, path)
    body += 'x' * max(0, int(q.get('size', 0)) - len(body))
    return Message(ResponseHead(int(q.get('status', 200)), h), body)

pipy().listen('127.0.0.1:{port}').serve_http(handle)
'''

PROXY = '''\
import json

from pipyx import pipy, Message
from pipyx.files import ResponseCache

cache = ResponseCache({options})
pipy().listen('127.0.0.1:{port}').demux_http().to(lambda p: p
    .proxy_cache(cache).to(lambda p: p.mux_http().to(lambda p: p.connect('127.0.0.1:{upstream}'))))
pipy().listen('127.0.0.1:{stats_port}').serve_http(lambda req: json.dumps(cache.stats()))
'''


class Setup:
    def __init__(self, workdir, **options):
        self.upstream_port, self.port, self.stats_port = free_port(), free_port(), free_port()
        up = os.path.join(workdir, 'upstream-%d.py' % self.upstream_port)
        with open(up, 'w') as f:
            f.write(UPSTREAM.replace('{port}', str(self.upstream_port)))
        px = os.path.join(workdir, 'proxy-%d.py' % self.port)
        with open(px, 'w') as f:
            f.write(PROXY.format(options=', '.join('%s=%r' % kv for kv in options.items()), port=self.port,
                                 upstream=self.upstream_port, stats_port=self.stats_port))
        self.procs = [PipyxProcess([up], cwd=workdir).wait_ready(self.upstream_port)]
        self.procs.append(PipyxProcess([px], cwd=workdir).wait_ready(self.port))
        self.procs[-1].wait_ready(self.stats_port)

    def get(self, path, headers=None, method='GET'):
        return simple_request(self.port, path, method, headers)

    def hits(self, path):
        with urllib.request.urlopen('http://127.0.0.1:%d/__hits' % self.upstream_port, timeout=5) as r:
            return json.loads(r.read()).get(path, 0)

    def stats(self):
        with urllib.request.urlopen('http://127.0.0.1:%d/' % self.stats_port, timeout=5) as r:
            return json.loads(r.read())

    def stop(self):
        for p in self.procs:
            p.stop()


@pytest.fixture(scope='module')
def proxy(tmp_path_factory):
    s = Setup(str(tmp_path_factory.mktemp('proxy-cache')), ttl=30, max_entry_size=10000, cache_header='x-cache')
    yield s
    s.stop()


def test_second_get_within_ttl_is_a_hit(proxy):
    r1 = proxy.get('/a')
    r2 = proxy.get('/a')
    assert r1.body == r2.body == b'n=1 GET /a\n'
    assert (r1.header('x-cache'), r2.header('x-cache')) == ('miss', 'hit')
    assert r2.header('age') is not None and int(r2.header('age')) >= 0
    assert proxy.hits('/a') == 1


def test_the_query_is_part_of_the_key(proxy):
    proxy.get('/q?x=1')
    proxy.get('/q?x=2')
    assert proxy.get('/q?x=1').body == b'n=1 GET /q?x=1\n'
    assert (proxy.hits('/q?x=1'), proxy.hits('/q?x=2')) == (1, 1)


def test_the_host_is_part_of_the_key(proxy):
    proxy.get('/h', {'Host': 'one.example'})
    proxy.get('/h', {'Host': 'two.example'})
    assert proxy.hits('/h') == 2


@pytest.mark.parametrize('query', ['cc=no-store', 'cc=private', 'cc=private,%20max-age=60', 'cc=no-cache',
                                   'cookie=1', 'vary=*', 'status=500', 'status=302', 'cc=max-age=0',
                                   'expires=-10', 'size=20000'])
def test_not_stored(proxy, query):
    path = '/not-stored?' + query
    proxy.get(path)
    r = proxy.get(path)
    assert r.header('x-cache') == 'miss' and proxy.hits(path) == 2


@pytest.mark.parametrize('query', ['cc=public,%20max-age=60', 'cc=s-maxage=60', 'expires=60', 'status=404',
                                   'status=301', 'size=9000'])
def test_stored(proxy, query):
    path = '/stored?' + query
    proxy.get(path)
    assert proxy.get(path).header('x-cache') == 'hit' and proxy.hits(path) == 1


def test_max_age_is_respected(proxy):
    path = '/short?cc=max-age=1'
    proxy.get(path)
    assert proxy.get(path).header('x-cache') == 'hit'
    time.sleep(1.1)
    r = proxy.get(path)
    assert r.header('x-cache') == 'miss' and r.body.startswith(b'n=2') and proxy.hits(path) == 2


def test_upstream_age_counts(proxy):
    path = '/aged?cc=max-age=100&age=99'
    proxy.get(path)
    r = proxy.get(path)
    assert r.header('x-cache') == 'hit' and int(r.header('age')) >= 99
    time.sleep(1.1)
    assert proxy.get(path).header('x-cache') == 'miss'


@pytest.mark.parametrize('header', [{'Authorization': 'Bearer x'}, {'Cookie': 'session=2'}])
def test_requests_with_credentials_bypass_the_cache(proxy, header):
    path = '/private-%s' % list(header)[0].lower()
    proxy.get(path)                                         # stored, for anonymous requests
    r = proxy.get(path, header)
    assert r.header('x-cache') == 'miss' and proxy.hits(path) == 2
    proxy.get(path, header)
    assert proxy.hits(path) == 3


def test_head_is_answered_from_a_stored_get(proxy):
    proxy.get('/for-head')
    r = proxy.get('/for-head', method='HEAD')
    assert r.status == 200 and r.body == b'' and r.header('content-length') == str(len(b'n=1 GET /for-head\n'))
    assert r.header('x-cache') == 'hit' and proxy.hits('/for-head') == 1


def test_request_no_cache_goes_upstream_and_refreshes(proxy):
    proxy.get('/refresh')
    r = proxy.get('/refresh', {'Cache-Control': 'no-cache'})
    assert r.header('x-cache') == 'miss' and r.body.startswith(b'n=2')
    assert proxy.get('/refresh').body.startswith(b'n=2')
    assert proxy.hits('/refresh') == 2


def test_post_invalidates(proxy):
    proxy.get('/changing')
    proxy.get('/changing', method='POST', headers={'Content-Length': '0'})
    assert proxy.get('/changing').header('x-cache') == 'miss'


def test_vary_keeps_one_response_per_value(proxy):
    path = '/varied?vary=accept-language'
    en1 = proxy.get(path, {'Accept-Language': 'en'})
    fr1 = proxy.get(path, {'Accept-Language': 'fr'})
    en2 = proxy.get(path, {'Accept-Language': 'en'})
    fr2 = proxy.get(path, {'Accept-Language': 'fr'})
    assert (en2.body, fr2.body) == (en1.body, fr1.body) and en1.body != fr1.body
    assert proxy.hits(path) == 2


def test_conditional_request_on_a_hit_is_304(proxy):
    path = '/tagged?etag=v1'
    proxy.get(path)
    r = proxy.get(path, {'If-None-Match': '"v1"'})
    assert r.status == 304 and r.header('etag') == '"v1"' and proxy.hits(path) == 1


def test_pipelined_requests_are_never_stored_under_the_wrong_url(proxy):
    with RawClient(proxy.port) as c:
        c.send(''.join('GET /pipe/%d HTTP/1.1\r\nHost: x\r\n\r\n' % i for i in range(4)))
        bodies = [c.read_response().body for _ in range(4)]
    assert bodies == [b'n=1 GET /pipe/%d\n' % i for i in range(4)]
    for i in range(4):                                      # stored or not, each URL only ever gets its own
        assert proxy.get('/pipe/%d' % i).body.endswith(b' GET /pipe/%d\n' % i)


def test_stats(proxy):
    s = proxy.stats()
    assert s['hits'] > 0 and s['misses'] > 0 and s['entries'] > 0 and s['bytes'] > 0


def test_ttl_zero_stores_only_explicit_freshness(tmp_path):
    s = Setup(str(tmp_path), ttl=0, cache_header='x-cache')
    try:
        s.get('/plain')
        s.get('/plain')
        assert s.hits('/plain') == 2
        s.get('/fresh?cc=max-age=60')
        assert s.get('/fresh?cc=max-age=60').header('x-cache') == 'hit'
    finally:
        s.stop()
