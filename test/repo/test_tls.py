"""The repo server over HTTPS (--repo-tls-cert/--repo-tls-key) and workers pulling from it (--repo-ca).

A private CA and a server certificate for 127.0.0.1/localhost are made per test run (the certs fixture). The repo and
the workers are real processes.
"""
import http.client
import json
import os
import ssl
import time

import pytest

from test.helpers import REPO_TOKEN, PipyxProcess, RepoServer, free_port, get, request, wait_for, wait_port

APP = """
from pipyx import pipy, Message
pipy().listen('127.0.0.1:{port}').serve_http(Message('v{n}'))
"""


@pytest.fixture
def tls_repo(tmp_path, certs):
    port = free_port()
    r = RepoServer(tmp_path / 'repo', port, tls=certs)
    try:
        yield r.ready()
    finally:
        r.stop()


@pytest.fixture
def workers(run_pipyx):
    def start(args):
        return run_pipyx(args=args, env={'PIPYX_REPO_TOKEN': REPO_TOKEN})
    return start


# -- tests -------------------------------------------------------------------------------------------------------------

def test_api_over_https(tls_repo):
    port = tls_repo.port
    assert tls_repo.publish('app', {'main.py': 'x = 1\n'}) == 1
    status, _, body = tls_repo.api('GET', '/repo/app/')
    assert status == 200 and json.loads(body)['version'] == 1
    status, _, body = tls_repo.api('GET', '/repo/app/main.py')
    assert (status, body) == (200, b'x = 1\n')
    # The token is still needed, and a client that does not trust the CA is refused by its own verification.
    assert tls_repo.api('POST', '/api/v1/codebases', {'name': 'other'}, token=None)[0] == 401
    with pytest.raises(ssl.SSLCertVerificationError):
        request(port, '/repo/app/', tls=ssl.create_default_context())
    # Plain HTTP on the TLS port gets no answer, and the server keeps serving.
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=5)
    with pytest.raises((OSError, http.client.HTTPException)):
        conn.request('GET', '/repo/app/')
        conn.getresponse().read()
    conn.close()
    assert tls_repo.api('GET', '/repo/app/')[0] == 200


def test_worker_pulls_over_https_with_repo_ca_and_refuses_without(tmp_path, tls_repo, certs, workers):
    port, ca = tls_repo.port, certs['ca']
    app_port = free_port()
    tls_repo.publish('app', {'main.py': APP.replace('{port}', str(app_port)).replace('{n}', '1')})
    url = 'https://127.0.0.1:%d/repo/app/' % port

    # Without the CA: the certificate does not verify, the error is logged, and nothing from the repo runs.
    untrusting = workers([url, '--repo-cache', str(tmp_path / 'cache-untrusting')])
    assert wait_for(lambda: 'certificate verify failed' in untrusting.log().lower(), 10, interval=0.1), untrusting.log()
    time.sleep(0.5)
    assert untrusting.proc.poll() is None                  # it keeps retrying, in case the repo gets fixed
    assert not wait_port(app_port, 0.3), 'unverified code is running'
    assert not os.path.exists(tmp_path / 'cache-untrusting' / 'v1')
    untrusting.stop()

    # With --repo-ca: it pulls, serves, and follows a new version over the long poll.
    trusting = workers([url, '--repo-ca', ca, '--repo-cache', str(tmp_path / 'cache')])
    trusting.wait_ready(app_port)
    assert get(app_port, '/', 2.0)[1] == 'v1'
    tls_repo.publish('app', {'main.py': APP.replace('{port}', str(app_port)).replace('{n}', '2')})
    assert wait_for(lambda: get(app_port, '/', 2.0)[1] == 'v2', 10, interval=0.05), trusting.log()
    # It reports itself over HTTPS too.
    assert wait_for(lambda: str(trusting.pid) in tls_repo.api('GET', '/api/v1/instances')[2].decode(), 5, interval=0.1)


def test_tls_options_are_checked_at_start(tmp_path, certs):
    port = free_port()
    r = RepoServer(tmp_path / 'repo', port, extra=['--repo-tls-cert', certs['cert']])
    assert r.proc.wait(10) == 2 and 'give both --repo-tls-cert and --repo-tls-key' in r.log(), r.log()
    r.stop()
    r = RepoServer(tmp_path / 'repo', port, extra=['--repo-tls-cert', certs['ca'], '--repo-tls-key', certs['key']])
    assert r.proc.wait(10) == 2 and 'cannot load the TLS certificate' in r.log(), r.log()
    r.stop()
    # A worker given an unreadable CA file says so at once.
    p = PipyxProcess(['https://127.0.0.1:%d/repo/app/' % port, '--repo-ca', str(tmp_path / 'missing.pem')],
                     cwd=str(tmp_path))
    assert p.wait(10) == 2 and 'missing.pem' in p.log(), p.log()
    p.stop()


def test_sighup_renews_the_repos_certificate_and_a_bad_one_keeps_the_running_one(tmp_path, certs):
    import shutil
    import signal
    from test.helpers.tls import certificates
    (tmp_path / 'renewed').mkdir()
    renewed = certificates(str(tmp_path / 'renewed'))          # another CA's: only a client trusting it gets in
    cert, key = str(tmp_path / 'cert.pem'), str(tmp_path / 'key.pem')
    shutil.copy(certs['cert'], cert)
    shutil.copy(certs['key'], key)
    r = RepoServer(tmp_path / 'repo', free_port(), tls={'cert': cert, 'key': key, 'ca': certs['ca']})
    try:
        r.ready()

        def status_trusting(ca):
            try:
                return request(r.port, '/api/v1/codebases', tls=ssl.create_default_context(cafile=ca))[0]
            except (ssl.SSLError, OSError):
                return None

        assert status_trusting(certs['ca']) == 200
        shutil.copy(renewed['key'], key)
        shutil.copy(renewed['cert'], cert)
        r.signal(signal.SIGHUP)
        assert wait_for(lambda: status_trusting(renewed['ca']) == 200, 10), r.log()
        shutil.copy(certs['key'], key)                           # the old key: not the new certificate's
        r.signal(signal.SIGHUP)
        assert wait_for(lambda: 'reload failed' in r.log(), 10), r.log()
        assert 'does not match' in r.log()
        assert status_trusting(renewed['ca']) == 200
    finally:
        r.stop()
