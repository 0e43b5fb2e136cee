"""serve_files / Directory: the memory cache. Hits for unchanged files, a changed or deleted file seen after
check_interval, the LRU bound, files above the per-file cap read from disk each time."""
import os
import time

import pytest

from test.files.support import FileServer, text_of, write
from test.helpers import wait_for

INTERVAL = 0.3


@pytest.fixture
def site(tmp_path):
    www = tmp_path / 'www'
    write(str(www / 'page.txt'), 'version one\n')
    write(str(www / 'large.bin'), os.urandom(200000))
    for i in range(6):
        write(str(www / ('f%d.txt' % i)), text_of(6000, 'file %d ' % i))
    return tmp_path


@pytest.fixture
def server(site):
    s = FileServer(str(site / 'www'), str(site), cache_header='x-cache', check_interval=INTERVAL,
                   max_file_size=100000, max_cache_size=20000)
    yield s
    s.stop()


def marker(r):
    return r.header('x-cache')


def test_unchanged_file_is_a_memory_hit(server):
    r1 = server.get('/page.txt')
    before = server.stats()
    r2 = server.get('/page.txt')
    r3 = server.get('/page.txt', method='HEAD')
    after = server.stats()
    assert (marker(r1), marker(r2), marker(r3)) == ('miss', 'hit', 'hit')
    assert r2.body == b'version one\n' and r2.header('etag') == r1.header('etag')
    assert after['hits'] == before['hits'] + 2 and after['misses'] == before['misses']
    assert after['entries'] >= 1 and after['bytes'] > 0


def test_hits_go_on_after_check_interval_when_nothing_changed(server):
    server.get('/page.txt')
    time.sleep(INTERVAL + 0.1)
    r = server.get('/page.txt')                  # re-checked against the file, still the same: still a hit
    assert marker(r) == 'hit' and r.body == b'version one\n'


def test_a_304_from_memory(server):
    etag = server.get('/page.txt').header('etag')
    r = server.get('/page.txt', {'If-None-Match': etag})
    assert r.status == 304 and marker(r) == 'hit'


def test_changed_file_is_served_fresh_after_check_interval(site, server):
    first = server.get('/page.txt')
    assert server.get('/page.txt').body == b'version one\n'
    write(str(site / 'www' / 'page.txt'), 'version two, longer\n')
    time.sleep(INTERVAL + 0.1)
    r = server.get('/page.txt')
    assert r.body == b'version two, longer\n' and marker(r) == 'miss'
    assert r.header('etag') != first.header('etag')
    assert marker(server.get('/page.txt')) == 'hit'


def test_same_size_rewrite_is_seen_too(site, server):
    server.get('/page.txt')
    path = str(site / 'www' / 'page.txt')
    st = os.stat(path)
    write(path, 'version 1.0!\n'[:st.st_size])
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000))
    time.sleep(INTERVAL + 0.1)
    assert server.get('/page.txt').body == b'version 1.0!\n'[:st.st_size]


def test_deleted_file_is_404_after_check_interval(site, server):
    assert server.get('/page.txt').status == 200
    os.unlink(str(site / 'www' / 'page.txt'))
    time.sleep(INTERVAL + 0.1)
    assert server.get('/page.txt').status == 404
    assert server.stats()['entries'] == 0


def test_lru_bound_is_respected(server):
    for i in range(6):
        assert server.get('/f%d.txt' % i).status == 200
    s = server.stats()
    assert s['bytes'] <= 20000 and s['evictions'] >= 3 and s['entries'] <= 3
    assert marker(server.get('/f5.txt')) == 'hit'          # the most recent stays
    assert marker(server.get('/f0.txt')) == 'miss'         # the oldest went first


def test_lru_keeps_what_is_used(server):
    server.get('/f0.txt')
    for i in range(1, 6):
        server.get('/f%d.txt' % i)
        assert marker(server.get('/f0.txt')) == 'hit'      # used again each time: never the least recent


def test_file_above_the_cap_is_sent_from_disk_each_time(site, server):
    data = open(str(site / 'www' / 'large.bin'), 'rb').read()
    for _ in range(2):
        r = server.get('/large.bin')
        assert r.body == data and marker(r) == 'miss' and r.header('content-length') == str(len(data))
    stats = server.stats()
    # Only its description is kept (so its requests skip the file system): none of its bytes are in memory.
    assert stats['entries'] == 1 and stats['bytes'] < 4096 < len(data) and stats['hits'] == 0


def test_large_file_is_sent_from_disk_and_max_read_size_bounds_only_multipart(tmp_path):
    data = os.urandom(5000)
    write(str(tmp_path / 'www' / 'huge.bin'), data)
    s = FileServer(str(tmp_path / 'www'), str(tmp_path), max_file_size=1000, max_read_size=4000)
    try:
        r = s.get('/huge.bin')                   # sent with sendfile, never read into memory: no limit applies
        assert r.status == 200 and r.body == data
        r = s.get('/huge.bin', {'Range': 'bytes=100-4599'})
        assert r.status == 206 and r.body == data[100:4600]
        assert s.get('/huge.bin', method='HEAD').header('content-length') == '5000'
        # several ranges make a multipart body, which is read: over max_read_size, refused
        assert s.get('/huge.bin', {'Range': 'bytes=0-2999,3500-4999'}).status == 500
        assert wait_for(lambda: 'over max_read_size' in s.proc.log())
    finally:
        s.stop()


def test_many_spellings_of_one_path_share_one_entry(server):
    for path in ('/page.txt', '/%70age.txt', '/pa%67e.txt', '/page.txt?x=1'):
        assert server.get(path).body == b'version one\n'
    assert server.stats()['entries'] == 1
