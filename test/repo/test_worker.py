"""A worker fed by the repo server (`pipyx http://.../repo/NAME/`), and `--watch` on a local directory.

The repo server (`python -m pipyx.repo`) and the workers run as real processes on 127.0.0.1; versions are published
through the repo's API the way a user would, and every wait has a deadline.
"""
import os
import re
import threading
import time

import pytest

from test.cli.support import write_script
from test.helpers import REPO_TOKEN, RawClient, RepoServer, answer, free_port, get, wait_for

APP = """
from pipyx import pipy, Message
pipy().listen('127.0.0.1:{port}').serve_http(Message('v{n}'))
"""

BROKEN = """
from pipyx import pipy, Message
pipy().listen('127.0.0.1:{port}').serve_http(Message('v{n}')
"""


@pytest.fixture
def repo(tmp_path):
    """repo(port=None) -> a RepoServer on tmp_path/repo, ready; stopped after the test."""
    started = []

    def start(port=None):
        r = RepoServer(str(tmp_path / 'repo'), port or free_port(), token_option=True)
        started.append(r)
        return r.ready()
    yield start
    for r in started:
        r.stop()


@pytest.fixture
def worker(run_pipyx, tmp_path):
    """worker(url, port=None, args=()) -> pipyx following the repo at url, with its cache in tmp_path/cache."""
    def start(url, port=None, args=()):
        return run_pipyx(args=[url, '--repo-cache', str(tmp_path / 'cache')] + list(args),
                         env={'PIPYX_REPO_TOKEN': REPO_TOKEN}, port=port or None)
    return start


def app(port, n, broken=False):
    return {'main.py': (BROKEN if broken else APP).replace('{port}', str(port)).replace('{n}', str(n))}


# -- 1. pull, serve, switch ------------------------------------------------------------------------------------------

TWO_FILES = """
from pipyx import pipy, Message
from greeting import TEXT
pipy().listen('127.0.0.1:{port}').serve_http(Message(TEXT))
"""


def test_worker_pulls_serves_and_switches_to_a_new_version(tmp_path, repo, worker):
    r = repo()
    port = free_port()
    main = TWO_FILES.replace('{port}', str(port))
    assert r.publish('hello', {'main.py': main, 'greeting.py': 'TEXT = "v1"\n', 'doc/notes.txt': 'x'}) == 1
    p = worker('http://127.0.0.1:%d/repo/hello/' % r.port, port)
    assert answer(port) == 'v1'
    cache = tmp_path / 'cache'
    assert (cache / 'v1' / 'main.py').is_file() and (cache / 'v1' / 'doc' / 'notes.txt').read_text() == 'x'
    old = RawClient(port)
    assert old.get('/') == (200, 'v1')

    # Only greeting.py changes: it alone is downloaded, and the new version imports the new copy of it.
    assert r.publish('hello', {'greeting.py': 'TEXT = "v2"\n'}) == 2
    t0 = time.monotonic()
    assert wait_for(lambda: answer(port) == 'v2', 5, interval=0.05), p.log()
    assert len(os.listdir(cache / 'blobs')) == 4
    assert time.monotonic() - t0 < 2.5, 'the switch took %.1fs' % (time.monotonic() - t0)
    assert old.get('/') == (200, 'v1')              # an open connection keeps the version it started with
    old.close()
    # The repo knows this instance and what it runs.
    text = wait_for(lambda: re.search(r'"pid":\s*%d\b' % p.pid, r.instances_text()) and r.instances_text(), 5)
    assert text and '127.0.0.1:%d' % port in text, text


# -- 2. zero downtime --------------------------------------------------------------------------------------------------

class Load:
    """Steady requests from one thread: keep-alive connections of 10 requests, then 5 one-request connections, over
    and over. Records each connection's answers in order, and every error."""

    def __init__(self, port):
        self.port = port
        self.connections = []        # [answers of one connection], in the order the connections were opened
        self.errors = []
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        deadline = time.monotonic() + 8.0
        while not self.stop_flag.is_set() and time.monotonic() < deadline:
            try:
                c = RawClient(self.port, 2.0)
                answers = []
                self.connections.append(answers)
                for _ in range(10):
                    answers.append(c.get('/')[1])
                c.close()
                for _ in range(5):
                    self.connections.append([get(self.port, '/', 2.0)[1]])
            except Exception as e:
                self.errors.append(repr(e))

    def latest(self):
        return self.connections[-1][-1] if self.connections and self.connections[-1] else None

    def stop(self):
        self.stop_flag.set()
        self.thread.join(10)
        assert not self.thread.is_alive()


def test_new_versions_under_load_lose_no_request(repo, worker):
    r = repo()
    port = free_port()
    r.publish('app', app(port, 1))
    p = worker('http://127.0.0.1:%d/repo/app/' % r.port, port)
    load = Load(port)
    try:
        for n in (2, 3, 4):
            time.sleep(0.5)
            assert r.publish('app', app(port, n)) == n
            assert wait_for(lambda: load.latest() == 'v%d' % n, 4, interval=0.02), \
                'v%d never served:\n%s' % (n, p.log())
        time.sleep(0.3)
    finally:
        load.stop()
    assert load.errors == [], load.errors[:5]
    firsts = [int(a[0][1:]) for a in load.connections if a]
    assert firsts == sorted(firsts), 'a new connection got an older version after a newer one'
    assert set(firsts) == {1, 2, 3, 4}
    for answers in load.connections:
        assert len(set(answers)) == 1, 'a keep-alive connection changed version: %s' % answers
    assert sum(len(a) for a in load.connections) > 100


# -- 3. a broken version -----------------------------------------------------------------------------------------------

def test_a_version_that_does_not_load_keeps_the_old_one_and_is_reported(repo, worker):
    r = repo()
    port = free_port()
    r.publish('app', app(port, 1))
    p = worker('http://127.0.0.1:%d/repo/app/' % r.port, port)
    assert answer(port) == 'v1'
    assert r.publish('app', app(port, 2, broken=True)) == 2

    def reported():
        text = r.instances_text()
        return 'failed' in text and re.search(r'main\.py:3', text) and text
    text = wait_for(reported, 5, interval=0.1)
    assert text, 'no failure reported:\n%s\n%s' % (r.instances_text(), p.log())
    assert 'SyntaxError' in text, text
    assert answer(port) == 'v1'
    assert re.search(r'version 2 failed to load.*main\.py:3: SyntaxError', p.log()), p.log()
    # The next good version is taken, and the failure is cleared.
    r.publish('app', app(port, 3))
    assert wait_for(lambda: answer(port) == 'v3', 5, interval=0.05), p.log()
    assert wait_for(lambda: '"running"' in r.instances_text() and 'failed' not in r.instances_text(), 5,
                    interval=0.1), \
        r.instances_text()


# -- 4. the repo goes away and comes back ------------------------------------------------------------------------------

def test_worker_outlives_the_repo_and_follows_it_when_back(repo, worker):
    r = repo()
    port = free_port()
    r.publish('app', app(port, 1))
    p = worker('http://127.0.0.1:%d/repo/app/' % r.port, port)
    assert answer(port) == 'v1'
    r.kill()
    assert wait_for(lambda: 'repo unreachable' in p.log(), 5, interval=0.05), p.log()
    for _ in range(10):
        assert answer(port) == 'v1'
        time.sleep(0.1)
    r.start().ready()
    r.publish('app', app(port, 2))
    assert wait_for(lambda: answer(port) == 'v2', 10, interval=0.1), p.log()
    log = p.log()
    assert log.count('repo unreachable') == 1, 'the outage should be logged once:\n' + log
    assert 'repo reachable again' in log, log


# -- 5. failover -------------------------------------------------------------------------------------------------------

def test_failover_to_the_next_repo_url(repo, worker):
    r = repo()
    port, dead = free_port(), free_port()
    # Short polling here: every round starts at the URL that answered last, not at the dead one.
    p = worker('http://127.0.0.1:%d/repo/x/,http://127.0.0.1:%d/repo/x/' % (dead, r.port), None,
               ['--poll-interval', '0.2'])
    # Started before anything is published: it waits, and serves the first version once there is one.
    assert wait_for(lambda: 'nothing published yet' in p.log(), 5, interval=0.05), p.log()
    r.publish('x', app(port, 1))
    p.wait_ready(port, 8)
    assert answer(port) == 'v1'
    r.publish('x', app(port, 2))
    assert wait_for(lambda: answer(port) == 'v2', 5, interval=0.05), p.log()
    assert 'repo unreachable' not in p.log(), 'one live URL is no outage:\n' + p.log()


def test_failover_to_a_repo_with_another_history_runs_that_repos_code(tmp_path, repo, worker):
    # Version numbers are per repo: after a failover, "version 1" of the other repo is other code, and the worker's
    # cache must not hand it the first repo's files under that number.
    a = repo()
    b = RepoServer(str(tmp_path / 'repo-b'), free_port(), token_option=True).ready()
    try:
        port = free_port()
        b.publish('x', app(port, 7))
        a.publish('x', app(port, 1))
        p = worker('http://127.0.0.1:%d/repo/x/,http://127.0.0.1:%d/repo/x/' % (a.port, b.port), port,
                   ['--poll-interval', '0.2'])
        assert answer(port) == 'v1'                  # A's version 1 is now in the cache
        a.publish('x', app(port, 2))
        assert wait_for(lambda: answer(port) == 'v2', 5, interval=0.05), p.log()
        a.kill()
        assert wait_for(lambda: answer(port) == 'v7', 8, interval=0.1), p.log()
    finally:
        b.stop()


# -- 6. --watch ------------------------------------------------------------------------------------------------------

def test_watch_reloads_on_edit_and_keeps_the_old_version_on_a_broken_one(tmp_path, run_pipyx):
    port = free_port()
    directory = tmp_path / 'site'
    directory.mkdir()
    write_script(directory / 'main.py', APP.replace('{port}', str(port)).replace('{n}', '1'))
    p = run_pipyx(path=directory, port=port, args=['--watch'])
    assert answer(port) == 'v1'
    time.sleep(0.05)
    write_script(directory / 'main.py', APP.replace('{port}', str(port)).replace('{n}', '2'))
    assert wait_for(lambda: answer(port) == 'v2', 3, interval=0.05), p.log()
    write_script(directory / 'main.py', BROKEN.replace('{port}', str(port)).replace('{n}', '3'))
    assert wait_for(lambda: 'reload failed' in p.log(), 3, interval=0.05), p.log()
    assert re.search(r'main\.py:2: SyntaxError', p.log()), p.log()      # write_script drops the first newline
    assert answer(port) == 'v2'


# -- 7. the cache, on its own ----------------------------------------------------------------------------------------

def test_cache_verifies_blobs_and_never_leaves_a_partial_version(tmp_path):
    """What the repo sends is checked before anything is put where a worker would load it from."""
    import asyncio
    import hashlib
    from pipyx.remote import Cache, RepoError

    good, bad = b'print(1)\n', b'tampered\n'
    sha = hashlib.sha256(good).hexdigest()

    class Sends:
        def __init__(self, data):
            self.data, self.calls = data, 0

        async def file(self, manifest, path, digest):
            self.calls += 1
            return self.data

    cache = Cache(str(tmp_path / 'c'))
    manifest = {'version': 7, 'entry': 'main.py', 'files': {'main.py': sha, 'lib/x.py': sha}}
    with pytest.raises(RepoError, match='sha256'):
        asyncio.run(cache.materialise(Sends(bad), manifest))
    assert not cache.has_version(7) and os.listdir(cache.blobs) == []
    with pytest.raises(RepoError, match='unsafe'):
        asyncio.run(cache.materialise(Sends(good), dict(manifest, files={'../evil.py': sha})))
    source = Sends(good)
    path = asyncio.run(cache.materialise(source, manifest))
    assert source.calls == 1                        # one blob for two files with the same content
    assert open(os.path.join(path, 'lib', 'x.py'), 'rb').read() == good
    assert cache.latest()[0] == 7
    assert [n for n in os.listdir(cache.root) if 'tmp' in n] == []
