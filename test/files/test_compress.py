"""serve_files / Directory: gzip and brotli, negotiated by Accept-Encoding; pre-compressed siblings; Vary."""
import gzip
import os

import brotli
import pytest

from test.files.support import FileServer, curl, fields, text_of, write

PAGE = text_of(20000, '<p>compress me, I am a page of text</p>\n')
BIG_TEXT = text_of(300000, 'a larger text, compressed off the event loop; ')
SMALL = b'tiny text\n'
PNG = b'\x89PNG\r\n\x1a\n' + os.urandom(3000)
OLD, NEW = 1_700_000_000, 1_700_000_100


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    base = tmp_path_factory.mktemp('compress')
    www = base / 'www'
    write(str(www / 'page.html'), PAGE, OLD)
    write(str(www / 'big.txt'), BIG_TEXT, OLD)
    write(str(www / 'small.txt'), SMALL, OLD)
    write(str(www / 'photo.png'), PNG, OLD)
    write(str(www / 'font.woff2'), text_of(5000), OLD)
    write(str(www / 'archive.zip'), text_of(5000), OLD)
    write(str(www / 'icon.svg'), text_of(5000, '<svg><rect/></svg>'), OLD)
    # Pre-compressed siblings whose content gives them away (they decode to something else than the file).
    write(str(www / 'app.js'), text_of(8000, 'console.log("on the fly");\n'), OLD)
    write(str(www / 'app.js.gz'), gzip.compress(b'FROM THE .gz SIBLING'), NEW)
    write(str(www / 'app.js.br'), brotli.compress(b'FROM THE .br SIBLING'), NEW)
    write(str(www / 'stale.css'), text_of(8000, 'body { color: red }\n'), NEW)
    write(str(www / 'stale.css.gz'), gzip.compress(b'OLDER SIBLING'), OLD)          # older than the file: unused
    return base


@pytest.fixture(scope='module')
def server(site):
    s = FileServer(str(site / 'www'), str(site), cache_header='x-cache')
    yield s
    s.stop()


def get_encoded(server, path, ae, **kw):
    return server.get(path, {'Accept-Encoding': ae} if ae is not None else None, **kw)


@pytest.mark.parametrize('ae,expected', [
    ('gzip', 'gzip'),
    ('br', 'br'),
    ('gzip, deflate, br, zstd', 'br'),                  # a browser's: brotli preferred on a tie
    ('gzip;q=1.0, br;q=0.5', 'gzip'),
    ('br;q=0, gzip', 'gzip'),
    ('x-gzip', 'gzip'),
    ('*', 'br'),
    ('*;q=0.5, gzip;q=0.1', 'br'),
    ('identity', None),
    ('deflate', None),
    ('gzip;q=0, br;q=0', None),
    ('', None),
    (None, None),
    ('br;q=0.5, identity;q=1', None),
])
def test_negotiation(server, ae, expected):
    r = get_encoded(server, '/page.html', ae)
    h = fields(r)
    assert r.status == 200 and h.get('content-encoding') == expected
    assert h['vary'] == 'accept-encoding'
    body = {'gzip': gzip.decompress, 'br': brotli.decompress, None: lambda b: b}[expected](r.body)
    assert body == PAGE
    if expected:
        assert len(r.body) < len(PAGE) and int(h['content-length']) == len(r.body)
        assert h['etag'].endswith('-%s"' % {'gzip': 'gz', 'br': 'br'}[expected])
        assert 'accept-ranges' not in h


def test_identity_not_acceptable_still_gets_an_answer(server):
    r = get_encoded(server, '/small.txt', 'identity;q=0')
    assert (r.status, r.body) == (200, SMALL)


def test_each_coding_has_its_own_etag_and_304(server):
    tags = {ae: fields(get_encoded(server, '/page.html', ae))['etag'] for ae in ('gzip', 'br', 'identity')}
    assert len(set(tags.values())) == 3
    r = server.get('/page.html', {'Accept-Encoding': 'gzip', 'If-None-Match': tags['gzip']})
    assert r.status == 304 and fields(r)['vary'] == 'accept-encoding' and fields(r)['etag'] == tags['gzip']
    # The same tag does not validate another coding: the client gets the brotli body it now asks for.
    assert server.get('/page.html', {'Accept-Encoding': 'br', 'If-None-Match': tags['gzip']}).status == 200


def test_small_files_are_not_compressed_but_vary(server):
    h = fields(get_encoded(server, '/small.txt', 'gzip, br'))
    assert 'content-encoding' not in h and h['vary'] == 'accept-encoding'


@pytest.mark.parametrize('path', ['/photo.png', '/font.woff2', '/archive.zip'])
def test_compressed_types_are_left_alone(server, path):
    r = get_encoded(server, path, 'gzip, br')
    h = fields(r)
    assert r.status == 200 and 'content-encoding' not in h and 'vary' not in h


def test_svg_is_compressed(server):
    assert fields(get_encoded(server, '/icon.svg', 'gzip'))['content-encoding'] == 'gzip'


def test_large_body_compressed_off_the_loop(server):
    for ae, decode in (('br', brotli.decompress), ('gzip', gzip.decompress)):
        r = get_encoded(server, '/big.txt', ae)
        assert fields(r)['content-encoding'] == ae and decode(r.body) == BIG_TEXT
    assert fields(get_encoded(server, '/big.txt', 'br'))['x-cache'] == 'hit'


def test_precompressed_siblings_are_preferred(server):
    r = get_encoded(server, '/app.js', 'gzip')
    assert fields(r)['content-encoding'] == 'gzip' and gzip.decompress(r.body) == b'FROM THE .gz SIBLING'
    r = get_encoded(server, '/app.js', 'br')
    assert fields(r)['content-encoding'] == 'br' and brotli.decompress(r.body) == b'FROM THE .br SIBLING'
    r = get_encoded(server, '/app.js', None)
    assert r.body.startswith(b'console.log("on the fly")') and fields(r)['vary'] == 'accept-encoding'


def test_a_sibling_older_than_the_file_is_ignored(server):
    r = get_encoded(server, '/stale.css', 'gzip')
    assert fields(r)['content-encoding'] == 'gzip' and gzip.decompress(r.body).startswith(b'body { color: red }')


def test_range_applies_to_the_identity_representation(server):
    r = server.get('/page.html', {'Accept-Encoding': 'gzip, br', 'Range': 'bytes=0-9'})
    h = fields(r)
    assert r.status == 206 and r.body == PAGE[:10] and 'content-encoding' not in h
    assert h['vary'] == 'accept-encoding'


def test_head_of_a_compressed_variant(server):
    get_r = get_encoded(server, '/page.html', 'br')
    head_r = get_encoded(server, '/page.html', 'br', method='HEAD')
    assert head_r.body == b'' and fields(head_r)['content-length'] == fields(get_r)['content-length']
    assert fields(head_r)['content-encoding'] == 'br'


@pytest.mark.parametrize('ae', ['gzip', 'br'])
def test_curl_compressed(server, ae):
    code, out, err = curl('--compressed', '-H', 'Accept-Encoding: ' + ae, '-D', '-', server.url('/page.html'))
    head, _, body = out.partition(b'\r\n\r\n')
    assert code == 0, err
    assert b'content-encoding: ' + ae.encode() in head and body == PAGE


def test_requests_decodes_what_it_negotiates(server):
    requests = pytest.importorskip('requests')
    r = requests.get(server.url('/page.html'), timeout=5)    # requests asks for gzip, deflate (and br with brotli)
    assert r.status_code == 200 and r.content == PAGE
    assert r.headers['content-encoding'] in ('gzip', 'br') and r.headers['vary'] == 'accept-encoding'
    r = requests.get(server.url('/photo.png'), timeout=5)
    assert r.content == PNG and 'content-encoding' not in r.headers


def test_curl_compressed_default_accept_encoding(server):
    code, out, err = curl('--compressed', '-w', '%{size_download} %header{content-encoding}', '-o', '/dev/null',
                          server.url('/big.txt'))
    size, enc = out.split()
    assert code == 0 and enc in (b'br', b'gzip') and int(size) < len(BIG_TEXT) // 5
