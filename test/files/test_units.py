"""pipyx.files' pieces on their own, without a server: ranges, content negotiation, validators, path resolution,
the LRU, the MIME table, the proxy cache's freshness rules, and Directory.serve called directly."""
import asyncio
import os

import pytest

from pipyx import Message, RequestHead
from pipyx.files import Directory, FileCache, MimeTable, ResponseCache
from pipyx.files import paths
from pipyx.files.cache import Entry
from pipyx.files.compress import negotiate, parse_accept_encoding
from pipyx.files.proxy_cache import HIT, MISS, PASS, parse_cache_control
from pipyx.files.ranges import UNSATISFIABLE, parse_range
from pipyx.files.validators import if_range_holds, none_match, parse_http_date, split_etags


# -- ranges ----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('value,size,expected', [
    ('bytes=0-499', 1000, [(0, 499)]),
    ('bytes=500-', 1000, [(500, 999)]),
    ('bytes=-200', 1000, [(800, 999)]),
    ('bytes=-2000', 1000, [(0, 999)]),
    ('bytes=990-2000', 1000, [(990, 999)]),
    ('bytes=0-0,-1', 1000, [(0, 0), (999, 999)]),
    ('bytes= 0-1 , 5-6 ', 10, [(0, 1), (5, 6)]),
    ('BYTES=0-1', 10, [(0, 1)]),
    ('bytes=1000-', 1000, UNSATISFIABLE),
    ('bytes=-0', 1000, UNSATISFIABLE),
    ('bytes=2000-3000, 5000-', 1000, UNSATISFIABLE),
    ('bytes=2000-3000, 5-6', 1000, [(5, 6)]),              # the unsatisfiable one is dropped
    ('bytes=5-1', 1000, None),
    ('bytes=x-1', 1000, None),
    ('bytes=1', 1000, None),
    ('bytes=-', 1000, None),
    ('items=0-1', 1000, None),
    ('bytes=0-1', 0, None),                                # an empty file: the whole (empty) thing
    ('bytes=0-5,3-8', 10, None),                            # overlapping
    (','.join('bytes=%d-%d' % (i, i) for i in range(1)) + ''.join(',%d-%d' % (i, i) for i in range(1, 17)),
     100, None),                                            # 17 ranges: more than max_ranges
])
def test_parse_range(value, size, expected):
    assert parse_range(value, size) == expected


# -- Accept-Encoding -------------------------------------------------------------------------------------------------

def test_parse_accept_encoding():
    assert parse_accept_encoding('gzip;q=0.8, BR, *;q=0, x-gzip;q=0.1, bad;q=2, zstd;q=abc') == \
        {'gzip': 0.8, 'br': 1.0, '*': 0.0}


@pytest.mark.parametrize('ae,offered,expected', [
    ('gzip, br', ('br', 'gzip'), 'br'),
    ('gzip, br', ('gzip',), 'gzip'),
    ('gzip;q=0.9, br;q=0.8', ('br', 'gzip'), 'gzip'),
    ('identity;q=1, gzip;q=0.5', ('gzip',), 'identity'),
    ('*', ('br', 'gzip'), 'br'),
    ('*;q=0', ('br', 'gzip'), 'identity'),
    ('identity;q=0', ('gzip',), 'identity'),                # nothing acceptable: identity anyway
    ('identity;q=0, gzip', ('gzip',), 'gzip'),
    ('', ('gzip',), 'identity'),
    (None, ('gzip',), 'identity'),
    ('gzip', (), 'identity'),
])
def test_negotiate(ae, offered, expected):
    assert negotiate(ae, offered) == expected


# -- validators ------------------------------------------------------------------------------------------------------

def test_split_etags():
    assert split_etags('"a", W/"b", "c,d" ,"e"') == ['"a"', 'W/"b"', '"c,d"', '"e"']


@pytest.mark.parametrize('inm,etag,expected', [
    ('"x"', '"x"', True), ('W/"x"', '"x"', True), ('"y", "x"', '"x"', True), ('*', '"x"', True),
    ('"y"', '"x"', False), ('"x-gz"', '"x"', False), ('', '"x"', False),
])
def test_none_match(inm, etag, expected):
    assert none_match(inm, etag) is expected


def test_if_range():
    lm = 'Tue, 14 Nov 2023 22:13:20 GMT'
    assert if_range_holds('"a"', '"a"', lm)
    assert not if_range_holds('W/"a"', '"a"', lm)
    assert not if_range_holds('"b"', '"a"', lm)
    assert if_range_holds(lm, '"a"', lm)
    assert not if_range_holds('Tue, 14 Nov 2023 22:13:21 GMT', '"a"', lm)


@pytest.mark.parametrize('value', ['Sun, 06 Nov 1994 08:49:37 GMT', 'Sunday, 06-Nov-94 08:49:37 GMT',
                                   'Sun Nov  6 08:49:37 1994'])
def test_http_date_forms(value):
    assert parse_http_date(value) == 784111777


# -- paths -----------------------------------------------------------------------------------------------------------

@pytest.fixture
def tree(tmp_path):
    root = tmp_path / 'root'
    (root / 'd').mkdir(parents=True)
    (root / 'd' / 'index.html').write_text('i')
    (root / 'f.txt').write_text('f')
    (tmp_path / 'out.txt').write_text('o')
    os.symlink(str(tmp_path / 'out.txt'), str(root / 'out'))
    return str(root)


@pytest.mark.parametrize('raw,kind', [
    ('/f.txt', paths.FILE), ('/d', paths.REDIRECT), ('/d/', paths.FILE), ('/', None), ('/out', None),
    ('/../out.txt', None), ('/%2e%2e/out.txt', None), ('/f.txt/', None), ('//f.txt', None), ('/d%2findex.html', None),
])
def test_resolve(tree, raw, kind):
    r = paths.resolve(tree, raw)
    assert (r[0] if r else None) == kind


def test_resolve_listing(tree):
    os.unlink(os.path.join(tree, 'd', 'index.html'))
    assert paths.resolve(tree, '/d/') is None
    assert paths.resolve(tree, '/d/', listing=True)[0] == paths.LISTING


# -- the LRU ---------------------------------------------------------------------------------------------------------

def entry(path, size):
    e = Entry()
    e.path = path

    class V:
        nbytes = size
    e.variants = {'identity': V()}
    return e


def test_file_cache_lru_by_bytes():
    c = FileCache(max_size=3000, max_file_size=2000, check_interval=1)
    for name in 'abc':
        c.put(entry(name, 700), '/' + name)
    assert c.size == 2 * (700 + 512)                       # each counts its bytes and an overhead
    assert list(c.entries) == ['b', 'c'] and c.evictions == 1 and '/a' not in c.urls
    c.touch(c.entries['b'])
    c.put(entry('d', 700), '/d')
    assert list(c.entries) == ['b', 'd'] and c.size <= 3000
    assert not c.admits(2001) and c.admits(2000)


# -- MIME ------------------------------------------------------------------------------------------------------------

def test_mime_table():
    t = MimeTable({'foo': 'text/x-foo', '.PNG': 'image/x-png', '.pdf': None})
    assert t.content_type('a.FOO') == 'text/x-foo; charset=utf-8'
    assert t.content_type('a.png') == 'image/x-png'
    assert t.content_type('a.pdf') == 'application/octet-stream'
    assert t.content_type('README') == 'application/octet-stream'
    assert t.content_type('.bashrc') == 'application/octet-stream'
    assert MimeTable(charset=None).content_type('a.html') == 'text/html'


# -- ResponseCache rules ---------------------------------------------------------------------------------------------

def test_parse_cache_control():
    assert parse_cache_control('Public, max-age="60", no-transform') == \
        {'public': True, 'max-age': '60', 'no-transform': True}


def request_message(path='/', method='GET', **headers):
    return RequestHead(method, path, dict({'host': 'h'}, **{k.replace('_', '-'): v for k, v in headers.items()}))


def resp(status=200, body=b'body', **headers):
    from pipyx import ResponseHead
    return Message(ResponseHead(status, {k.replace('_', '-'): v for k, v in headers.items()}), body)


def test_response_cache_freshness_and_age():
    c = ResponseCache(ttl=10)
    route, token = c.lookup(request_message('/x'), now=1000)
    assert route == MISS
    assert c.store(token, resp(cache_control='max-age=100', age='40'), now=1000)
    assert c.lookup(request_message('/x'), now=1059)[0] == HIT
    assert c.lookup(request_message('/x'), now=1060)[0] == MISS                # 40 + 60 >= 100: stale
    route, token = c.lookup(request_message('/y'), now=1000)
    assert c.store(token, resp(), now=1000)                        # no freshness given: ttl
    hit = c.lookup(request_message('/y'), now=1005)
    assert hit[0] == HIT and c.answer(hit[1], request_message('/y'), now=1005).head.headers['age'] == '5'
    assert c.lookup(request_message('/y'), now=1010)[0] == MISS


def test_response_cache_s_maxage_wins_and_max_ttl_caps():
    c = ResponseCache(ttl=10, max_ttl=50)
    _, token = c.lookup(request_message('/x'), now=0)
    c.store(token, resp(cache_control='max-age=1, s-maxage=100'), now=0)
    assert c.lookup(request_message('/x'), now=49)[0] == HIT and c.lookup(request_message('/x'), now=50)[0] == MISS


def test_response_cache_authorized_needs_public():
    c = ResponseCache(cache_authorized=True)
    _, token = c.lookup(request_message('/a', authorization='x'))
    assert not c.store(token, resp(cache_control='max-age=60'))
    _, token = c.lookup(request_message('/a', authorization='x'))
    assert c.store(token, resp(cache_control='public, max-age=60'))
    assert ResponseCache().lookup(request_message('/a', authorization='x'))[0] == PASS


def test_response_cache_bounded_by_bytes():
    c = ResponseCache(max_size=5000, max_entry_size=3000)
    for i in range(5):
        _, token = c.lookup(request_message('/%d' % i))
        c.store(token, resp(body=b'x' * 2000))
    assert c.size <= 5000 and c.evictions >= 3
    assert c.lookup(request_message('/4'))[0] == HIT and c.lookup(request_message('/0'))[0] == MISS


# -- Directory.serve, called directly --------------------------------------------------------------------------------

def run(coro_or_message):
    if asyncio.iscoroutine(coro_or_message):
        return asyncio.run(coro_or_message)
    return coro_or_message


def test_directory_serve_direct(tmp_path):
    (tmp_path / 'a.txt').write_text('hello')
    site = Directory(str(tmp_path), cache_header='x-cache')
    r = run(site.serve(Message(RequestHead('GET', '/a.txt'))))
    assert r.head.status == 200 and r.body.to_bytes() == b'hello' and r.head.headers['x-cache'] == 'miss'
    r = run(site.serve(Message(RequestHead('GET', '/a.txt'))))
    assert r.head.headers['x-cache'] == 'hit' and site.cache.stats()['hits'] == 1
    v = site.cache.urls['/a.txt'].variants['identity']
    assert v.head.startswith(b'HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\n')
    assert v.head.endswith(b'content-length: 5\r\n') and b'x-cache: hit\r\n' in v.head
    assert v.head_304.startswith(b'HTTP/1.1 304 Not Modified\r\netag: ' + v.etag.encode())
    with pytest.raises(ValueError):
        Directory(str(tmp_path / 'missing'))
