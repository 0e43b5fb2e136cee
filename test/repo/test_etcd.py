"""The etcd store (--repo-store etcd://...): two repo servers sharing one etcd serve one fleet.

A real etcd (Debian's etcd-server, /usr/bin/etcd) is started on 127.0.0.1 with free ports and a temporary data
directory, and stopped by its pid; the repo servers and the worker are real processes too.
"""
import json
import os
import shutil
import threading
import time
import urllib.request

import pytest

from test.helpers import (REPO_TOKEN, PipyxProcess, Process, RepoServer, free_port, get, missing_peer, wait_for,
                          wait_port)

ETCD = '/usr/bin/etcd'

APP = """
from pipyx import pipy, Message
pipy().listen('127.0.0.1:{port}').serve_http(Message('v{n}'))
"""


@pytest.fixture(scope='module')
def etcd(tmp_path_factory):
    """The client URL of an etcd started for this module."""
    if not os.path.exists(ETCD):
        missing_peer('no etcd server at %s (Debian package etcd-server)' % ETCD)
    data = tmp_path_factory.mktemp('etcd')
    client, peer = free_port(), free_port()
    c, p = 'http://127.0.0.1:%d' % client, 'http://127.0.0.1:%d' % peer
    proc = Process([ETCD, '--name', 'default', '--data-dir', data / 'data',
                    '--listen-client-urls', c, '--advertise-client-urls', c,
                    '--listen-peer-urls', p, '--initial-advertise-peer-urls', p,
                    '--initial-cluster', 'default=' + p], log_dir=data, name='etcd')

    def healthy():
        try:
            with urllib.request.urlopen(c + '/health', timeout=1) as r:
                return json.loads(r.read()).get('health') == 'true'
        except (OSError, ValueError):
            return False
    try:
        assert wait_port(client, 15, proc.proc) and wait_for(healthy, 10, interval=0.1), 'etcd did not start'
        yield 'etcd://127.0.0.1:%d' % client
    finally:
        proc.stop(10)
        shutil.rmtree(str(data / 'data'), ignore_errors=True)


@pytest.fixture
def servers(tmp_path, etcd, request):
    """servers(n): n repo servers on one etcd prefix of their own (per test)."""
    started = []
    prefix = '%s/%s' % (etcd, request.node.name)

    def start(n):
        for i in range(n):
            r = RepoServer(tmp_path / ('repo-%d' % len(started)), free_port(), extra=['--repo-store', prefix])
            started.append(r)
            r.ready()
        return started[-n:]
    yield start
    for r in started:
        r.stop()


def test_two_servers_share_codebases_versions_and_instances(servers):
    a, b = servers(2)
    assert a.publish('app', {'main.py': 'print(1)\n', 'lib/util.py': 'X = 1\n'}) == 1
    # Everything written through A is there through B: manifest, files, blobs, the codebase list.
    status, m = b.get_json('/repo/app/')
    assert status == 200 and m['version'] == 1 and sorted(m['files']) == ['lib/util.py', 'main.py']
    assert b.api('GET', '/repo/app/lib/util.py')[2] == b'X = 1\n'
    assert b.api('GET', '/api/v1/blobs/%s' % m['files']['main.py'])[2] == b'print(1)\n'
    assert [c['name'] for c in b.get_json('/api/v1/codebases')[1]] == ['app']
    # A derived codebase made through B is republished when its base is published through A.
    assert b.api('POST', '/api/v1/codebases', {'name': 'tenant', 'base': 'app'})[0] == 201
    assert b.api('PUT', '/api/v1/codebases/tenant/files/conf.json', b'{}')[0] == 204
    assert json.loads(b.api('POST', '/api/v1/codebases/tenant/publish')[2]) == {'version': 1}
    assert a.publish('app', {'lib/util.py': 'X = 2\n'}) == 2
    status, m = b.get_json('/repo/tenant/')
    assert m['version'] == 2 and b.api('GET', '/repo/tenant/lib/util.py')[2] == b'X = 2\n'
    assert a.api('DELETE', '/api/v1/codebases/app')[0] == 409
    # Instances reported to one server are listed by the other.
    assert a.api('POST', '/api/v1/instances/w-1', {'codebase': 'app', 'version': 2})[0] == 200
    assert [i['id'] for i in b.get_json('/api/v1/instances')[1]] == ['w-1']


def test_concurrent_publishes_through_two_servers_get_distinct_numbers(servers):
    a, b = servers(2)
    a.publish('app', {'main.py': 'print(0)\n'})
    got, errors = [], []

    def publisher(server):
        for _ in range(6):
            status, _, body = server.api('POST', '/api/v1/codebases/app/publish')
            (got if status == 200 else errors).append(json.loads(body).get('version', body))
    threads = [threading.Thread(target=publisher, args=(r,)) for r in (a, b, a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    # The compare on the current version in each publish txn: no number is handed out twice, none is skipped.
    assert sorted(got) == list(range(2, 26))
    versions = b.get_json('/api/v1/codebases/app/versions')[1]
    assert [v['version'] for v in versions] == list(range(1, 26))


def test_a_long_poll_on_one_server_wakes_on_a_publish_through_the_other(servers):
    a, b = servers(2)
    assert a.publish('app', {'main.py': 'print(1)\n'}) == 1
    # B learns of a publish through A within half a second; a poll held before then would be answered early.
    time.sleep(1.0)
    answer = {}

    def poll():
        t0 = time.monotonic()
        answer['m'] = b.get_json('/repo/app/?since=1&wait=20', timeout=30)[1]
        answer['took'] = time.monotonic() - t0
    t = threading.Thread(target=poll)
    t.start()
    time.sleep(0.7)                                   # held on B by now
    assert 'm' not in answer
    assert a.publish('app', {'main.py': 'print(2)\n'}) == 2
    t.join(10)
    assert answer['m']['version'] == 2 and answer['took'] < 3.0, answer


def test_worker_fails_over_and_follows_a_publish_through_the_surviving_server(tmp_path, servers):
    a, b = servers(2)
    port = free_port()
    a.publish('x', {'main.py': APP.replace('{port}', str(port)).replace('{n}', '1')})
    url = 'http://127.0.0.1:%d/repo/x/,http://127.0.0.1:%d/repo/x/' % (a.port, b.port)
    p = PipyxProcess([url, '--repo-cache', str(tmp_path / 'cache')], cwd=str(tmp_path),
                     env={'PIPYX_REPO_TOKEN': REPO_TOKEN})
    try:
        p.wait_ready(port)
        assert get(port, '/', 2.0)[1] == 'v1'
        a.kill()
        b.publish('x', {'main.py': APP.replace('{port}', str(port)).replace('{n}', '2')})

        def serves_v2():
            try:
                return get(port, '/', 2.0)[1] == 'v2'
            except OSError:
                return False
        assert wait_for(serves_v2, 10, interval=0.1), p.log()
        assert p.proc.poll() is None
        # It reports to the surviving server, which stores the report in etcd.
        assert wait_for(lambda: any(i['pid'] == p.pid and i['version'] == 2
                                    for i in b.get_json('/api/v1/instances')[1]), 12, interval=0.2), p.log()
    finally:
        p.stop()


def test_a_bad_store_url_or_unreachable_etcd_is_an_error_at_start(tmp_path):
    r = RepoServer(tmp_path / 'r1', free_port(), extra=['--repo-store', 'etcd://127.0.0.1:%d/x' % free_port()])
    assert r.proc.wait(30) == 1 and 'cannot open the repo in etcd://' in r.log(), r.log()
    r.stop()
    r = RepoServer(tmp_path / 'r2', free_port(), extra=['--repo-store', 'redis://127.0.0.1:1/x'])
    assert r.proc.wait(30) == 1 and 'not an etcd store URL' in r.log(), r.log()
    r.stop()
