"""The repo server's HTTP API, against a real `python -m pipyx.repo` process on 127.0.0.1."""
import hashlib
import json
import os
import threading
import time

import pytest

from test.helpers import REPO_TOKEN, RepoServer, free_port


@pytest.fixture(scope='module')
def repo(tmp_path_factory):
    server = RepoServer(tmp_path_factory.mktemp('repo'), free_port()).ready()
    yield server
    assert server.stop() == 0, server.log()


@pytest.fixture
def api(repo):
    """api(method, path, body=None, token=REPO_TOKEN) -> (status, decoded JSON or raw bytes)."""
    def call(method, path, body=None, token=REPO_TOKEN, **kw):
        status, headers, data = repo.api(method, path, body, token, **kw)
        if headers.get('content-type') == 'application/json':
            data = json.loads(data)
        return status, data
    return call


def make(api, name, files, entry='main.py', base=None, publish=True):
    """Creates a codebase with files, sets its entry, and publishes it (returns the version) if asked."""
    body = {'name': name} if base is None else {'name': name, 'base': base}
    assert api('POST', '/api/v1/codebases', body)[0] == 201
    for path, data in files.items():
        assert api('PUT', '/api/v1/codebases/%s/files/%s' % (name, path), data)[0] == 204
    if entry:
        assert api('PUT', '/api/v1/codebases/%s/entry' % name, {'path': entry})[0] == 200
    if publish:
        status, r = api('POST', '/api/v1/codebases/%s/publish' % name)
        assert status == 200, r
        return r['version']


def sha(data):
    return hashlib.sha256(data).hexdigest()


def test_codebases_create_list_get_delete(api):
    status, cb = api('POST', '/api/v1/codebases', {'name': 'alpha'})
    assert status == 201 and cb['name'] == 'alpha' and cb['base'] is None and cb['version'] == 0
    assert api('POST', '/api/v1/codebases', {'name': 'alpha'})[0] == 409
    assert api('POST', '/api/v1/codebases', {'name': 'beta', 'base': 'nope'})[0] == 404
    for bad in ('', '-x', 'a/b', 'a b', 'x' * 65, '..', 'é'):
        status, err = api('POST', '/api/v1/codebases', {'name': bad})
        assert status == 400 and 'error' in err, bad
    assert api('POST', '/api/v1/codebases', {})[0] == 400
    assert api('POST', '/api/v1/codebases', b'{not json')[0] == 400
    status, listing = api('GET', '/api/v1/codebases')
    assert status == 200
    entry = [c for c in listing if c['name'] == 'alpha'][0]
    assert set(entry) == {'name', 'base', 'entry', 'version', 'updated'} and entry['version'] == 0
    status, cb = api('GET', '/api/v1/codebases/alpha')
    assert status == 200 and cb['files'] == [] and cb['draft'] is False and cb['entry'] is None
    assert api('GET', '/api/v1/codebases/missing')[0] == 404
    assert api('GET', '/api/v1/codebases/a%20b')[0] == 400
    assert api('DELETE', '/api/v1/codebases/alpha')[0] == 204
    assert api('GET', '/api/v1/codebases/alpha')[0] == 404
    assert api('DELETE', '/api/v1/codebases/alpha')[0] == 404
    assert api('GET', '/api/v1/nothing')[0] == 404
    assert api('PATCH', '/api/v1/codebases')[0] == 405


def test_auth_on_writes(api):
    assert api('POST', '/api/v1/codebases', {'name': 'guarded'}, token=None)[0] == 401
    status, err = api('POST', '/api/v1/codebases', {'name': 'guarded'}, token='wrong')
    assert status == 403 and 'error' in err
    assert api('GET', '/api/v1/codebases/guarded')[0] == 404          # nothing was created
    make(api, 'guarded', {'main.py': b'x = 1\n'})
    for method, path, body in [('PUT', '/api/v1/codebases/guarded/files/a.py', b'a'),
                               ('DELETE', '/api/v1/codebases/guarded/files/main.py', None),
                               ('PUT', '/api/v1/codebases/guarded/entry', {'path': 'main.py'}),
                               ('POST', '/api/v1/codebases/guarded/publish', None),
                               ('DELETE', '/api/v1/codebases/guarded', None),
                               ('POST', '/api/v1/instances/i1', {'pid': 1})]:
        assert api(method, path, body, token=None)[0] == 401, path
        assert api(method, path, body, token='nope')[0] == 403, path
    # Reads need no token.
    assert api('GET', '/api/v1/codebases/guarded', token=None)[0] == 200
    assert api('GET', '/repo/guarded/', token=None)[0] == 200
    assert api('GET', '/api/v1/codebases/guarded/files/main.py', token=None) == (200, b'x = 1\n')


def test_files_and_path_checks(api):
    make(api, 'docs', {}, entry=None, publish=False)
    assert api('PUT', '/api/v1/codebases/docs/files/lib/util.py', b'def f(): pass\n')[0] == 204
    assert api('PUT', '/api/v1/codebases/docs/files/empty.txt', b'')[0] == 204
    assert api('GET', '/api/v1/codebases/docs/files/lib/util.py') == (200, b'def f(): pass\n')
    assert api('GET', '/api/v1/codebases/docs/files/empty.txt') == (200, b'')
    assert api('GET', '/api/v1/codebases/docs/files/lib%2Futil.py') == (200, b'def f(): pass\n')
    assert api('GET', '/api/v1/codebases/docs')[1]['files'] == ['empty.txt', 'lib/util.py']
    assert api('GET', '/api/v1/codebases/docs')[1]['draft'] is True
    for bad in ('../x', '%2e%2e/x', 'a/../../x', '%2fetc/passwd', '/etc/passwd', 'a\\b', 'a%5cb', 'a//b',
                './x', 'a%00b', '', 'x' * 256):
        for method in ('PUT', 'GET', 'DELETE'):
            status, err = api(method, '/api/v1/codebases/docs/files/' + bad, b'x' if method == 'PUT' else None)
            assert status == 400 and 'error' in err, (method, bad, status)
    assert api('GET', '/api/v1/codebases/docs/files/missing.py')[0] == 404
    assert api('DELETE', '/api/v1/codebases/docs/files/missing.py')[0] == 404
    assert api('GET', '/api/v1/codebases/nope/files/a.py')[0] == 404
    assert api('PUT', '/api/v1/codebases/nope/files/a.py', b'a')[0] == 404
    assert api('DELETE', '/api/v1/codebases/docs/files/empty.txt')[0] == 204
    assert api('GET', '/api/v1/codebases/docs/files/empty.txt')[0] == 404
    # A big-ish binary file goes through unchanged.
    blob = os.urandom(300 * 1024)
    assert api('PUT', '/api/v1/codebases/docs/files/data.bin', blob)[0] == 204
    assert api('GET', '/api/v1/codebases/docs/files/data.bin') == (200, blob)


def test_entry_publish_versions_diff_and_worker_reads(api):
    assert api('POST', '/api/v1/codebases', {'name': 'app'})[0] == 201
    assert api('POST', '/api/v1/codebases/app/publish')[0] == 400          # no entry
    assert api('GET', '/repo/app/')[0] == 404                              # nothing published
    assert api('GET', '/api/v1/codebases/app/versions') == (200, [])
    assert api('PUT', '/api/v1/codebases/app/files/main.py', b'v1')[0] == 204
    assert api('PUT', '/api/v1/codebases/app/files/lib.py', b'lib1')[0] == 204
    assert api('PUT', '/api/v1/codebases/app/entry', {'path': 'nope.py'})[0] == 400
    assert api('PUT', '/api/v1/codebases/app/entry', {'path': '../x'})[0] == 400
    assert api('PUT', '/api/v1/codebases/app/entry', {})[0] == 400
    status, cb = api('PUT', '/api/v1/codebases/app/entry', {'path': 'main.py'})
    assert status == 200 and cb['entry'] == 'main.py'
    assert api('POST', '/api/v1/codebases/app/publish') == (200, {'version': 1})
    assert api('GET', '/api/v1/codebases/app')[1]['draft'] is False
    # Edit the draft: the published version does not change until publish.
    assert api('PUT', '/api/v1/codebases/app/files/main.py', b'v2')[0] == 204
    assert api('PUT', '/api/v1/codebases/app/files/new.py', b'new')[0] == 204
    assert api('DELETE', '/api/v1/codebases/app/files/lib.py')[0] == 204
    assert api('GET', '/api/v1/codebases/app')[1]['draft'] is True
    status, m = api('GET', '/repo/app/')
    assert status == 200 and m == {'name': 'app', 'version': 1, 'entry': 'main.py',
                                   'files': {'main.py': sha(b'v1'), 'lib.py': sha(b'lib1')}}
    assert api('GET', '/api/v1/codebases/app/diff?from=1&to=draft') == (
        200, {'added': ['new.py'], 'removed': ['lib.py'], 'changed': ['main.py']})
    assert api('GET', '/api/v1/codebases/app/diff?from=1')[1]['added'] == ['new.py']      # to defaults to draft
    assert api('POST', '/api/v1/codebases/app/publish') == (200, {'version': 2})
    assert api('GET', '/api/v1/codebases/app/diff?from=1&to=2')[1] == {
        'added': ['new.py'], 'removed': ['lib.py'], 'changed': ['main.py']}
    assert api('GET', '/api/v1/codebases/app/diff?from=0&to=1')[1]['added'] == ['lib.py', 'main.py']
    assert api('GET', '/api/v1/codebases/app/diff?from=2&to=draft')[1] == {'added': [], 'removed': [],
                                                                          'changed': []}
    assert api('GET', '/api/v1/codebases/app/diff?from=9&to=1')[0] == 404
    assert api('GET', '/api/v1/codebases/app/diff?from=x')[0] == 400
    assert api('GET', '/api/v1/codebases/app/diff')[0] == 400
    status, versions = api('GET', '/api/v1/codebases/app/versions')
    assert status == 200 and [v['version'] for v in versions] == [1, 2]
    assert all(set(v) == {'version', 'published', 'entry'} and v['entry'] == 'main.py' for v in versions)
    # Worker reads: a file at a version, the latest by default, and blobs by hash.
    assert api('GET', '/repo/app/main.py') == (200, b'v2')
    assert api('GET', '/repo/app/main.py?version=1') == (200, b'v1')
    assert api('GET', '/repo/app/lib.py?version=1') == (200, b'lib1')
    assert api('GET', '/repo/app/lib.py')[0] == 404
    assert api('GET', '/repo/app/main.py?version=7')[0] == 404
    assert api('GET', '/repo/app/main.py?version=x')[0] == 400
    assert api('GET', '/repo/app/%2e%2e/x')[0] == 400
    assert api('GET', '/repo/nope/')[0] == 404
    assert api('GET', '/repo/nope/main.py')[0] == 404
    assert api('POST', '/repo/app/')[0] == 405
    assert api('GET', '/api/v1/blobs/' + sha(b'lib1')) == (200, b'lib1')
    assert api('GET', '/api/v1/blobs/' + sha(b'never stored'))[0] == 404
    assert api('GET', '/api/v1/blobs/xyz')[0] == 400
    assert api('GET', '/api/v1/codebases/nope/versions')[0] == 404


def test_derived_codebases_inherit_and_override(api):
    make(api, 'common', {'main.py': b'base main', 'lib.py': b'base lib', 'conf.json': b'{}'})
    status, cb = api('POST', '/api/v1/codebases', {'name': 'tenant', 'base': 'common'})
    assert status == 201 and cb['base'] == 'common' and cb['entry'] == 'main.py'      # entry inherited
    status, cb = api('GET', '/api/v1/codebases/tenant')
    assert cb['files'] == ['conf.json', 'lib.py', 'main.py']
    assert api('GET', '/api/v1/codebases/tenant/files/lib.py') == (200, b'base lib')
    assert api('PUT', '/api/v1/codebases/tenant/files/conf.json', b'{"tenant": 1}')[0] == 204
    assert api('PUT', '/api/v1/codebases/tenant/files/extra.py', b'extra')[0] == 204
    assert api('GET', '/api/v1/codebases/tenant/files/conf.json') == (200, b'{"tenant": 1}')
    assert api('DELETE', '/api/v1/codebases/tenant/files/lib.py')[0] == 409           # inherited
    assert api('POST', '/api/v1/codebases/tenant/publish') == (200, {'version': 1})
    m = api('GET', '/repo/tenant/')[1]
    assert m['entry'] == 'main.py' and m['files'] == {
        'main.py': sha(b'base main'), 'lib.py': sha(b'base lib'), 'conf.json': sha(b'{"tenant": 1}'),
        'extra.py': sha(b'extra')}
    assert api('GET', '/repo/tenant/conf.json') == (200, b'{"tenant": 1}')
    # The base's draft edits are not seen; publishing the base republishes the derived codebase over it, with
    # the derived codebase's own files as it last published them.
    assert api('PUT', '/api/v1/codebases/common/files/lib.py', b'base lib 2')[0] == 204
    assert api('GET', '/api/v1/codebases/tenant/files/lib.py') == (200, b'base lib')
    assert api('PUT', '/api/v1/codebases/tenant/files/extra.py', b'extra draft')[0] == 204
    assert api('POST', '/api/v1/codebases/common/publish') == (200, {'version': 2})
    m = api('GET', '/repo/tenant/')[1]
    assert m['version'] == 2
    assert m['files']['lib.py'] == sha(b'base lib 2') and m['files']['extra.py'] == sha(b'extra')
    assert api('GET', '/api/v1/codebases/tenant/diff?from=1&to=2')[1]['changed'] == ['lib.py']
    assert api('GET', '/api/v1/codebases/tenant')[1]['draft'] is True                   # extra.py edited
    assert api('POST', '/api/v1/codebases/tenant/publish') == (200, {'version': 3})
    assert api('GET', '/repo/tenant/extra.py') == (200, b'extra draft')
    # Its own entry overrides the base's.
    assert api('PUT', '/api/v1/codebases/tenant/entry', {'path': 'extra.py'})[1]['entry'] == 'extra.py'
    assert api('POST', '/api/v1/codebases/tenant/publish') == (200, {'version': 4})
    assert api('GET', '/repo/tenant/')[1]['entry'] == 'extra.py'
    # A base cannot go while something derives from it.
    assert api('DELETE', '/api/v1/codebases/common')[0] == 409
    assert api('DELETE', '/api/v1/codebases/tenant')[0] == 204
    assert api('DELETE', '/api/v1/codebases/common')[0] == 204


def test_instances(api):
    assert api('GET', '/api/v1/instances')[0] == 200
    report = {'codebase': 'app', 'version': 2, 'address': '10.0.0.5:8080', 'pid': 4242, 'started': 1700000000.5,
              'status': 'running', 'error': None}
    status, inst = api('POST', '/api/v1/instances/host-a.4242', report)
    assert status == 200 and inst['id'] == 'host-a.4242' and inst['pid'] == 4242
    assert isinstance(inst['last_seen'], float)
    status, inst = api('POST', '/api/v1/instances/host-a.4242', {'status': 'error', 'error': 'load failed'})
    assert inst['status'] == 'error' and inst['version'] == 2                          # other fields kept
    listing = api('GET', '/api/v1/instances')[1]
    mine = [i for i in listing if i['id'] == 'host-a.4242'][0]
    assert set(mine) == {'id', 'codebase', 'version', 'address', 'pid', 'started', 'last_seen', 'status', 'error'}
    assert mine['error'] == 'load failed'
    assert api('POST', '/api/v1/instances/bad%20id', report)[0] == 400
    assert api('POST', '/api/v1/instances/x', b'[1]')[0] == 400
    assert api('POST', '/api/v1/instances/x', {'pid': {'nested': 1}})[0] == 400


def test_long_poll_returns_when_another_client_publishes(api):
    version = make(api, 'polled', {'main.py': b'one'})
    result = {}

    def poll():
        t0 = time.monotonic()
        result['answer'] = api('GET', '/repo/polled/?since=%d&wait=20' % version, timeout=30)
        result['took'] = time.monotonic() - t0

    waiter = threading.Thread(target=poll)
    waiter.start()
    time.sleep(0.3)
    assert waiter.is_alive()
    # The held request blocks nothing else.
    t0 = time.monotonic()
    assert api('GET', '/api/v1/codebases')[0] == 200
    assert api('PUT', '/api/v1/codebases/polled/files/main.py', b'two')[0] == 204
    assert time.monotonic() - t0 < 2.0
    assert waiter.is_alive()
    assert api('POST', '/api/v1/codebases/polled/publish') == (200, {'version': version + 1})
    waiter.join(10)
    assert not waiter.is_alive()
    status, m = result['answer']
    assert status == 200 and m['version'] == version + 1 and m['files']['main.py'] == sha(b'two')
    assert result['took'] < 5.0
    # Asking with an older version answers at once.
    t0 = time.monotonic()
    assert api('GET', '/repo/polled/?since=%d&wait=20' % version)[1]['version'] == version + 1
    assert time.monotonic() - t0 < 2.0


def test_long_poll_waits_for_the_first_version(api):
    make(api, 'fresh', {'main.py': b'first'}, publish=False)
    assert api('GET', '/repo/fresh/?since=0&wait=0.2')[0] == 404           # timed out, still nothing
    result = {}
    waiter = threading.Thread(target=lambda: result.update(answer=api('GET', '/repo/fresh?since=0&wait=20')))
    waiter.start()
    time.sleep(0.3)
    assert api('POST', '/api/v1/codebases/fresh/publish') == (200, {'version': 1})
    waiter.join(10)
    assert result['answer'][0] == 200 and result['answer'][1]['version'] == 1


def test_long_poll_times_out_with_the_current_version(api):
    version = make(api, 'quiet', {'main.py': b'q'})
    t0 = time.monotonic()
    status, m = api('GET', '/repo/quiet/?since=%d&wait=1' % version)
    took = time.monotonic() - t0
    assert status == 200 and m['version'] == version
    assert 0.9 <= took < 4.0
    assert api('GET', '/repo/quiet/?since=x&wait=1')[0] == 400
    assert api('GET', '/repo/quiet/?since=1&wait=soon')[0] == 400


def test_publish_is_atomic_for_readers(api):
    """Every manifest a reader sees is one whole version: all files from the same publish."""
    files = ['f%d.py' % i for i in range(8)]
    make(api, 'atomic', {f: b'%s v0' % f.encode() for f in files}, entry='f0.py')
    which = {}                                             # sha -> version number
    for f in files:
        which[sha(b'%s v0' % f.encode())] = 0
    stop = threading.Event()
    seen, bad = [], []

    def reader():
        while not stop.is_set():
            status, m = api('GET', '/repo/atomic/')
            versions = {which.get(s) for s in m['files'].values()}
            seen.append(m['version'])
            if len(versions) != 1:
                bad.append(m)

    t = threading.Thread(target=reader)
    t.start()
    try:
        for n in range(1, 7):
            for f in files:
                data = b'%s v%d' % (f.encode(), n)
                which[sha(data)] = n
                assert api('PUT', '/api/v1/codebases/atomic/files/' + f, data)[0] == 204
            assert api('POST', '/api/v1/codebases/atomic/publish')[0] == 200
    finally:
        stop.set()
        t.join(10)
    assert not bad and len(set(seen)) > 1


def test_survives_kill_9_right_after_publish(tmp_path):
    port = free_port()
    server = RepoServer(tmp_path / 'repo', port).ready()
    try:
        assert server.api('POST', '/api/v1/codebases', {'name': 'durable'})[0] == 201
        assert server.api('PUT', '/api/v1/codebases/durable/files/main.py', b'print("kept")')[0] == 204
        assert server.api('PUT', '/api/v1/codebases/durable/entry', {'path': 'main.py'})[0] == 200
        assert server.api('POST', '/api/v1/codebases/durable/publish')[0] == 200
        assert server.api('PUT', '/api/v1/codebases/durable/files/draft.py', b'draft')[0] == 204
    finally:
        server.kill()
    server = RepoServer(tmp_path / 'repo', port).ready()
    try:
        status, _, body = server.api('GET', '/repo/durable/')
        m = json.loads(body)
        assert status == 200 and m['version'] == 1 and m['files'] == {'main.py': sha(b'print("kept")')}
        assert server.api('GET', '/repo/durable/main.py')[2] == b'print("kept")'
        assert server.api('GET', '/api/v1/codebases/durable/files/draft.py')[2] == b'draft'
    finally:
        assert server.stop() == 0, server.log()


def test_refuses_to_start_without_a_token(tmp_path):
    for listen, extra in [('0.0.0.0:%d', ['--allow-no-token']), ('127.0.0.1:%d', [])]:
        server = RepoServer(tmp_path / 'r', free_port(), token=None, extra=extra,
                            listen=listen % free_port())
        assert server.proc.wait(15) == 2
        server.log_file.close()
        assert 'token' in server.log()
    # Loopback with --allow-no-token starts, and writes need no token.
    port = free_port()
    server = RepoServer(tmp_path / 'r', port, token=None, extra=['--allow-no-token']).ready()
    try:
        assert server.api('POST', '/api/v1/codebases', {'name': 'open'}, token=None)[0] == 201
    finally:
        assert server.stop() == 0


@pytest.mark.parametrize('blank', ['', '   ', '\t\n'])
@pytest.mark.parametrize('token_option', [False, True], ids=['PIPYX_REPO_TOKEN', '--repo-token'])
def test_a_blank_token_is_no_token(tmp_path, blank, token_option):
    where = 'PIPYX_REPO_TOKEN' if not token_option else '--repo-token'
    for listen, extra in [('0.0.0.0:%d', ['--allow-no-token']), ('127.0.0.1:%d', [])]:
        server = RepoServer(tmp_path / 'r', free_port(), token=blank, token_option=token_option, extra=extra,
                            listen=listen % free_port())
        assert server.proc.wait(15) == 2
        server.log_file.close()
        assert '%s is blank, which is no token' % where in server.log(), server.log()
    # On loopback with --allow-no-token it starts as without a token: writes need none.
    port = free_port()
    server = RepoServer(tmp_path / 'r', port, token=blank, token_option=token_option,
                        extra=['--allow-no-token']).ready()
    try:
        assert server.api('POST', '/api/v1/codebases', {'name': 'open'}, token=None)[0] == 201
        assert 'running with no token' in server.log()
    finally:
        assert server.stop() == 0


def test_white_space_around_the_token_is_not_part_of_it(tmp_path):
    # A token read from a file often ends with a newline; the client's Bearer value is stripped likewise.
    server = RepoServer(tmp_path / 'r', free_port(), token=' %s\n' % REPO_TOKEN).ready()
    try:
        assert server.api('POST', '/api/v1/codebases', {'name': 'trimmed'}, token=REPO_TOKEN)[0] == 201
        assert server.api('POST', '/api/v1/codebases', {'name': 'other'}, token=None)[0] == 401
    finally:
        assert server.stop() == 0
