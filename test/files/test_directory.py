"""Directory (what serve_files answers with): HTTP semantics, end to end against a real pipyx process on 127.0.0.1.

GET and HEAD, index files and the trailing-slash redirect, Content-Type, validators and conditional requests,
ranges, Cache-Control rules, 404/405, directory listings, URL decoding; with raw requests, curl and http.client.
Compression, the memory cache, path safety and sendfile have their own modules here; serve_files() in a script is
in test/filters/test_serve_files.py, the proxy cache in test/filters/test_proxy_cache.py.
"""
import http.client
import os
import re

import pytest

from test.files.support import FileServer, curl, fields, write
from test.helpers import RawClient, free_port

MTIME = 1_700_000_000            # a fixed modification time: Last-Modified is then known
INDEX = b'<!DOCTYPE html><title>home</title><h1>home</h1>\n'
BIG = bytes(range(256)) * 4096   # 1 MiB of bytes no type makes compressible


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp('site')
    www = root / 'www'
    write(str(www / 'index.html'), INDEX, MTIME)
    write(str(www / 'sub' / 'index.html'), '<h1>sub</h1>\n', MTIME)
    write(str(www / 'sub' / 'page.txt'), 'a page\n', MTIME)
    write(str(www / 'nodir' / 'readme.txt'), 'no index here\n', MTIME)
    write(str(www / 'digits.txt'), b'0123456789' * 10, MTIME)
    write(str(www / 'with space.txt'), 'spaced\n', MTIME)
    write(str(www / 'caf\u00e9.txt'), 'accented\n', MTIME)
    write(str(www / 'big.bin'), BIG, MTIME)
    write(str(www / 'thing.foo'), 'custom type\n', MTIME)
    write(str(www / 'assets' / 'site.css'), 'h1 { color: red }\n', MTIME)
    write(str(www / 'assets' / 'app.js'), 'console.log(1)\n', MTIME)
    write(str(www / 'empty.txt'), b'', MTIME)
    for ext in ('css', 'js', 'mjs', 'json', 'svg', 'png', 'jpg', 'gif', 'webp', 'avif', 'ico', 'woff', 'woff2',
                'txt', 'xml', 'pdf', 'wasm', 'mp4', 'webm', 'zip', 'gz', 'html'):
        write(str(www / 'types' / ('file.' + ext)), b'x' * 10, MTIME)
    return root


@pytest.fixture(scope='module')
def server(site):
    s = FileServer(str(site / 'www'), str(site), cache_header='x-cache', check_interval=0.2,
                   mime_types={'.foo': 'text/x-foo'}, headers={'x-content-type-options': 'nosniff'},
                   cache_control=[('*.html', 'no-cache'), ('/assets/*.js', 'public, max-age=60'),
                                  (re.compile(r'\.css$'), 'public, max-age=3600, immutable')],
                   default_cache_control='public, max-age=5')
    yield s
    s.stop()


@pytest.fixture(scope='module')
def listing_server(site):
    s = FileServer(str(site / 'www'), str(site), listing=True)
    yield s
    s.stop()


# -- GET and HEAD ----------------------------------------------------------------------------------------------------

def test_get_index_of_the_root(server):
    r = server.get('/')
    h = fields(r)
    assert (r.status, r.body) == (200, INDEX)
    assert h['content-type'] == 'text/html; charset=utf-8'
    assert h['content-length'] == str(len(INDEX))
    assert re.fullmatch(r'"[0-9a-f]+-[0-9a-f]+-[0-9a-f]+"', h['etag'])
    assert h['last-modified'] == 'Tue, 14 Nov 2023 22:13:20 GMT'
    assert h['accept-ranges'] == 'bytes'
    assert h['cache-control'] == 'no-cache'
    assert h['x-content-type-options'] == 'nosniff'
    assert 'date' in h


def test_head_has_the_get_headers_and_no_body(server):
    with RawClient(server.port) as c:
        c.send('HEAD /digits.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /digits.txt HTTP/1.1\r\nHost: x\r\n\r\n')
        head = c.read_response(head_request=True)
        get = c.read_response()
    assert head.status == get.status == 200
    drop = ('date', 'x-cache')
    assert {k: v for k, v in head.headers if k not in drop} == {k: v for k, v in get.headers if k not in drop}
    assert head.body == b'' and get.body == b'0123456789' * 10   # the HEAD sent no body: the GET parsed right after


def test_head_of_a_file_too_big_for_the_cache_tells_its_length(server):
    r = server.get('/big.bin', method='HEAD')
    assert r.status == 200 and fields(r)['content-length'] == str(len(BIG)) and r.body == b''


def test_http_client_gets_a_large_file_whole(server):
    c = http.client.HTTPConnection('127.0.0.1', server.port, timeout=5)
    try:
        c.request('GET', '/big.bin')
        r = c.getresponse()
        body = r.read()
        assert r.status == 200 and body == BIG and r.getheader('content-length') == str(len(BIG))
        assert r.getheader('transfer-encoding') is None
        c.request('GET', '/empty.txt')                      # the same keep-alive connection goes on
        r = c.getresponse()
        assert (r.status, r.read(), r.getheader('content-length')) == (200, b'', '0')
    finally:
        c.close()


def test_a_folder_without_its_slash_is_redirected_keeping_the_query(server):
    r = server.get('/sub?x=1&y=%20')
    assert r.status == 301 and fields(r)['location'] == '/sub/?x=1&y=%20'
    r = server.get('/sub/')
    assert (r.status, r.body) == (200, b'<h1>sub</h1>\n')


def test_a_query_string_does_not_change_the_file(server):
    assert server.get('/sub/page.txt?v=3').body == b'a page\n'


def test_a_folder_without_index_is_404_unless_listing(server):
    assert server.get('/nodir/').status == 404


def test_a_file_with_a_trailing_slash_is_404(server):
    assert server.get('/sub/page.txt/').status == 404


def test_missing_file_is_404_with_a_small_body(server):
    r = server.get('/no/such/file.html')
    assert (r.status, r.body) == (404, b'404 Not Found\n')
    assert fields(r)['content-type'].startswith('text/plain')


@pytest.mark.parametrize('method', ['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'])
def test_other_methods_are_405_with_allow(server, method):
    r = server.get('/', method=method, headers={'Content-Length': '0'})
    assert r.status == 405 and fields(r)['allow'] == 'GET, HEAD'


@pytest.mark.parametrize('path,expected', [
    ('/with%20space.txt', b'spaced\n'),
    ('/caf%C3%A9.txt', b'accented\n'),
    ('/%73ub/page.txt', b'a page\n'),
])
def test_the_path_is_percent_decoded(server, path, expected):
    r = server.get(path)
    assert (r.status, r.body) == (200, expected)


def test_an_absolute_form_request_target_is_served_by_its_path(server):
    r = server.get('http://example.com/sub/page.txt')
    assert (r.status, r.body) == (200, b'a page\n')


# -- Content-Type ----------------------------------------------------------------------------------------------------

TYPES = {
    'css': 'text/css; charset=utf-8', 'js': 'text/javascript; charset=utf-8',
    'mjs': 'text/javascript; charset=utf-8', 'json': 'application/json; charset=utf-8',
    'svg': 'image/svg+xml; charset=utf-8', 'png': 'image/png', 'jpg': 'image/jpeg', 'gif': 'image/gif',
    'webp': 'image/webp', 'avif': 'image/avif', 'ico': 'image/x-icon', 'woff': 'font/woff', 'woff2': 'font/woff2',
    'txt': 'text/plain; charset=utf-8', 'xml': 'application/xml; charset=utf-8', 'pdf': 'application/pdf',
    'wasm': 'application/wasm', 'mp4': 'video/mp4', 'webm': 'video/webm', 'zip': 'application/zip',
    'gz': 'application/gzip', 'html': 'text/html; charset=utf-8',
}


@pytest.mark.parametrize('ext', sorted(TYPES))
def test_content_type_by_extension(server, ext):
    assert fields(server.get('/types/file.' + ext))['content-type'] == TYPES[ext]


def test_the_type_table_is_extended_per_directory(server):
    assert fields(server.get('/thing.foo'))['content-type'] == 'text/x-foo; charset=utf-8'
    assert fields(server.get('/big.bin'))['content-type'] == 'application/octet-stream'


# -- Cache-Control rules ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize('path,value', [
    ('/', 'no-cache'),                                          # '/' is /index.html: the *.html rule
    ('/assets/app.js', 'public, max-age=60'),                   # a glob with a slash: the whole path
    ('/assets/site.css', 'public, max-age=3600, immutable'),    # a regex
    ('/digits.txt', 'public, max-age=5'),                       # no rule: the default
])
def test_cache_control_first_matching_rule(server, path, value):
    assert fields(server.get(path))['cache-control'] == value


# -- conditional requests --------------------------------------------------------------------------------------------

def test_if_none_match_gives_304_with_validators_and_no_body(server):
    etag = fields(server.get('/digits.txt'))['etag']
    with RawClient(server.port) as c:
        c.send('GET /digits.txt HTTP/1.1\r\nHost: x\r\nIf-None-Match: %s\r\n\r\n'
               'GET /sub/page.txt HTTP/1.1\r\nHost: x\r\n\r\n' % etag)
        r = c.read_response()
        after = c.read_response()
    h = fields(r)
    assert r.status == 304 and r.body == b'' and 'content-length' not in h
    assert h['etag'] == etag and h['cache-control'] == 'public, max-age=5' and h['vary'] == 'accept-encoding'
    assert after.body == b'a page\n'


@pytest.mark.parametrize('make', [
    lambda e: '"nope", %s' % e,                 # a list
    lambda e: 'W/%s' % e,                       # weak comparison ignores W/
    lambda e: '*',
])
def test_if_none_match_forms(server, make):
    etag = fields(server.get('/digits.txt'))['etag']
    assert server.get('/digits.txt', {'If-None-Match': make(etag)}).status == 304


def test_if_none_match_that_does_not_match_is_200(server):
    assert server.get('/digits.txt', {'If-None-Match': '"other"'}).status == 200


def test_if_modified_since(server):
    assert server.get('/digits.txt', {'If-Modified-Since': 'Tue, 14 Nov 2023 22:13:20 GMT'}).status == 304
    assert server.get('/digits.txt', {'If-Modified-Since': 'Wed, 15 Nov 2023 00:00:00 GMT'}).status == 304
    assert server.get('/digits.txt', {'If-Modified-Since': 'Tue, 14 Nov 2023 22:13:19 GMT'}).status == 200
    assert server.get('/digits.txt', {'If-Modified-Since': 'not a date'}).status == 200


def test_if_modified_since_is_ignored_with_if_none_match(server):
    r = server.get('/digits.txt', {'If-None-Match': '"other"', 'If-Modified-Since': 'Wed, 15 Nov 2023 00:00:00 GMT'})
    assert r.status == 200


def test_if_match_that_fails_is_412(server):
    etag = fields(server.get('/digits.txt'))['etag']
    assert server.get('/digits.txt', {'If-Match': '"other"'}).status == 412
    assert server.get('/digits.txt', {'If-Match': etag}).status == 200
    assert server.get('/digits.txt', {'If-Unmodified-Since': 'Mon, 13 Nov 2023 00:00:00 GMT'}).status == 412


def test_curl_conditional_requests(server):
    _, out, _ = curl('-o', '/dev/null', '-w', '%{http_code}', '-z', 'Wed, 15 Nov 2023 00:00:00 GMT',
                     server.url('/digits.txt'))
    assert out == b'304'
    etag = fields(server.get('/digits.txt'))['etag']
    _, out, _ = curl('-o', '/dev/null', '-w', '%{http_code}', '-H', 'If-None-Match: ' + etag,
                     server.url('/digits.txt'))
    assert out == b'304'


# -- ranges ----------------------------------------------------------------------------------------------------------

DIGITS = b'0123456789' * 10


@pytest.mark.parametrize('spec,first,last', [
    ('bytes=0-9', 0, 9), ('bytes=95-', 95, 99), ('bytes=-5', 95, 99), ('bytes=90-1000', 90, 99),
    ('bytes=0-0', 0, 0),
])
def test_single_range_is_206(server, spec, first, last):
    r = server.get('/digits.txt', {'Range': spec})
    h = fields(r)
    assert r.status == 206 and r.body == DIGITS[first:last + 1]
    assert h['content-range'] == 'bytes %d-%d/100' % (first, last)
    assert h['content-length'] == str(last - first + 1)


@pytest.mark.parametrize('spec', ['bytes=100-', 'bytes=500-600', 'bytes=-0'])
def test_unsatisfiable_range_is_416(server, spec):
    r = server.get('/digits.txt', {'Range': spec})
    assert r.status == 416 and fields(r)['content-range'] == 'bytes */100'


@pytest.mark.parametrize('spec', ['bytes=5-2', 'lines=1-2', 'bytes=a-b', 'bytes='])
def test_invalid_range_is_ignored(server, spec):
    r = server.get('/digits.txt', {'Range': spec})
    assert (r.status, r.body) == (200, DIGITS)


def test_multiple_ranges_are_multipart_byteranges(server):
    r = server.get('/digits.txt', {'Range': 'bytes=0-1, 10-12, -2'})
    h = fields(r)
    assert r.status == 206
    m = re.fullmatch(r'multipart/byteranges; boundary=(\S+)', h['content-type'])
    assert m and int(h['content-length']) == len(r.body)
    boundary = m.group(1).encode()
    parts = [p for p in r.body.split(b'--' + boundary) if p.strip() not in (b'', b'--')]
    got = []
    for p in parts:
        head, _, data = p.strip(b'\r\n').partition(b'\r\n\r\n')
        assert b'content-type: text/plain; charset=utf-8' in head
        got.append((re.search(rb'content-range: bytes (\d+)-(\d+)/100', head).groups(), data))
    assert got == [((b'0', b'1'), b'01'), ((b'10', b'12'), b'012'), ((b'98', b'99'), b'89')]
    assert r.body.endswith(b'--' + boundary + b'--\r\n')


def test_overlapping_ranges_get_the_whole_file(server):
    r = server.get('/digits.txt', {'Range': 'bytes=0-50, 40-60'})
    assert (r.status, r.body) == (200, DIGITS)


def test_if_range(server):
    h = fields(server.get('/digits.txt'))
    assert server.get('/digits.txt', {'Range': 'bytes=0-1', 'If-Range': h['etag']}).status == 206
    assert server.get('/digits.txt', {'Range': 'bytes=0-1', 'If-Range': '"old"'}).status == 200
    assert server.get('/digits.txt', {'Range': 'bytes=0-1', 'If-Range': h['last-modified']}).status == 206
    assert server.get('/digits.txt', {'Range': 'bytes=0-1', 'If-Range': 'Mon, 13 Nov 2023 00:00:00 GMT'}).status == 200


def test_range_of_a_file_read_from_disk(server):
    r = server.get('/big.bin', {'Range': 'bytes=1000-1999, 500000-500009'})
    assert r.status == 206 and BIG[1000:2000] in r.body and BIG[500000:500010] in r.body
    r = server.get('/big.bin', {'Range': 'bytes=-10'})
    assert (r.status, r.body) == (206, BIG[-10:])


def test_curl_range_and_head(server):
    _, out, _ = curl('-r', '2-4', server.url('/digits.txt'))
    assert out == b'234'
    _, out, _ = curl('-r', '200-300', '-D', '-', '-o', '/dev/null', server.url('/digits.txt'))
    assert out.startswith(b'HTTP/1.1 416 Range Not Satisfiable') and b'content-range: bytes */100' in out
    _, out, _ = curl('-I', server.url('/digits.txt'))
    assert out.startswith(b'HTTP/1.1 200 OK') and b'content-length: 100' in out


# -- listing ---------------------------------------------------------------------------------------------------------

def test_directory_listing_escapes_names(site, listing_server):
    odd = site / 'www' / 'nodir' / '<b>&"x.txt'
    write(str(odd), 'odd\n')
    write(str(site / 'www' / 'nodir' / '.secret'), 'hidden\n')
    try:
        r = listing_server.get('/nodir/')
        assert r.status == 200 and fields(r)['content-type'] == 'text/html; charset=utf-8'
        assert b'&lt;b&gt;&amp;&quot;x.txt' in r.body and b'<b>&' not in r.body
        assert b'href="%3Cb%3E%26%22x.txt"' in r.body
        assert b'readme.txt' in r.body and b'.secret' not in r.body
        assert listing_server.get('/nodir/%3Cb%3E%26%22x.txt').body == b'odd\n'
        assert listing_server.get('/').body == INDEX          # an index file still wins
    finally:
        os.unlink(str(odd))
        os.unlink(str(site / 'www' / 'nodir' / '.secret'))


# -- Directory as a handler ------------------------------------------------------------------------------------------

def test_directory_serve_inside_demux_http(tmp_path, run_pipyx):
    # A Directory is a plain handler: here it answers inside a request pipeline, next to routing.
    write(str(tmp_path / 'www' / 'a.txt'), 'file a\n')
    port = free_port()
    run_pipyx('''
        from pipyx import pipy, Message
        from pipyx.files import Directory

        site = Directory(%r)
        pipy().listen('127.0.0.1:%d').demux_http().to(lambda p: p.branch(
            lambda: False, lambda p: p.replace_message(Message('never')),
            lambda p: p.replace_message(site.serve)))
        ''' % (str(tmp_path / 'www'), port), port=port)
    _, out, _ = curl('-i', 'http://127.0.0.1:%d/a.txt' % port)
    assert out.startswith(b'HTTP/1.1 200 OK') and out.endswith(b'\r\n\r\nfile a\n')
    _, out, _ = curl('-o', '/dev/null', '-w', '%{http_code}', 'http://127.0.0.1:%d/nope' % port)
    assert out == b'404'
