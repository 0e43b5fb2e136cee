"""The repo server over HTTPS (--repo-tls-cert/--repo-tls-key) and workers pulling from it (--repo-ca).

A private CA and a server certificate for 127.0.0.1/localhost are made per test run: with the `cryptography`
package when it is installed, else with the openssl command. The repo and the workers are real processes.
"""
import datetime
import http.client
import ipaddress
import json
import os
import shutil
import ssl
import subprocess
import time

import pytest

from conftest import PipyxProcess, free_port, missing_peer, wait_port
from cli_support import get, wait_for
from test_repo_api import RepoServer, TOKEN

APP = """
from pipyx import pipy, Message
pipy().listen('127.0.0.1:{port}').serve_http(Message('v{n}'))
"""


# -- certificates ------------------------------------------------------------------------------------------------------

def make_certs_cryptography(directory):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def cert(subject, issuer, key, signer, ca):
        b = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
             .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if ca:
            b = b.add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                              content_commitment=False, key_encipherment=False,
                                              data_encipherment=False, key_agreement=False, encipher_only=False,
                                              decipher_only=False), critical=True)
            b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        else:
            b = b.add_extension(x509.SubjectAlternativeName([
                x509.DNSName('localhost'), x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]), critical=False)
            b = b.add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        return b.sign(signer, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = cert('pipyx test CA', 'pipyx test CA', ca_key, ca_key, True)
    server = cert('127.0.0.1', 'pipyx test CA', key, ca_key, False)
    pem = serialization.Encoding.PEM
    paths = {n: os.path.join(directory, n + '.pem') for n in ('ca', 'cert', 'key')}
    with open(paths['ca'], 'wb') as f:
        f.write(ca.public_bytes(pem))
    with open(paths['cert'], 'wb') as f:
        f.write(server.public_bytes(pem))
    with open(paths['key'], 'wb') as f:
        f.write(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return paths


def make_certs_openssl(directory):
    paths = {n: os.path.join(directory, n + '.pem') for n in ('ca', 'cert', 'key')}
    ca_key, csr, ext = (os.path.join(directory, n) for n in ('ca-key.pem', 'req.csr', 'ext.cnf'))
    with open(ext, 'w') as f:
        f.write('subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n')

    def run(*args):
        subprocess.run(['openssl'] + list(args), check=True, capture_output=True, timeout=30)
    run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', ca_key,
        '-out', paths['ca'], '-days', '1', '-subj', '/CN=pipyx test CA')
    run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', paths['key'],
        '-out', csr, '-subj', '/CN=127.0.0.1')
    run('x509', '-req', '-in', csr, '-CA', paths['ca'], '-CAkey', ca_key, '-CAcreateserial', '-out', paths['cert'],
        '-days', '1', '-extfile', ext)
    return paths


@pytest.fixture(scope='module')
def certs(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp('certs'))
    try:
        import cryptography  # noqa: F401
        return make_certs_cryptography(directory)
    except ImportError:
        if not shutil.which('openssl'):
            missing_peer('neither the cryptography package nor the openssl command is there to make certificates')
        return make_certs_openssl(directory)


# -- helpers -----------------------------------------------------------------------------------------------------------

def https(port, ca, method, path, body=None, token=TOKEN):
    ctx = ssl.create_default_context(cafile=ca)
    conn = http.client.HTTPSConnection('127.0.0.1', port, timeout=10, context=ctx)
    headers = {'Authorization': 'Bearer ' + token} if token else {}
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
        headers['Content-Type'] = 'application/json'
    try:
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def publish(port, ca, name, text):
    assert https(port, ca, 'POST', '/api/v1/codebases', {'name': name})[0] in (201, 409)
    assert https(port, ca, 'PUT', '/api/v1/codebases/%s/files/main.py' % name, text.encode())[0] == 204
    assert https(port, ca, 'PUT', '/api/v1/codebases/%s/entry' % name, {'path': 'main.py'})[0] == 200
    status, body = https(port, ca, 'POST', '/api/v1/codebases/%s/publish' % name)
    assert status == 200, body
    return json.loads(body)['version']


@pytest.fixture
def tls_repo(tmp_path, certs):
    port = free_port()
    r = RepoServer(tmp_path / 'repo', port, extra=['--repo-tls-cert', certs['cert'], '--repo-tls-key', certs['key']])
    try:
        yield r.ready()
    finally:
        r.stop()


@pytest.fixture
def workers(tmp_path):
    started = []

    def start(args):
        p = PipyxProcess(list(args), cwd=str(tmp_path), env={'PIPYX_REPO_TOKEN': TOKEN})
        started.append(p)
        return p
    yield start
    for p in started:
        p.stop()


# -- tests -------------------------------------------------------------------------------------------------------------

def test_api_over_https(tls_repo, certs):
    port, ca = tls_repo.port, certs['ca']
    assert publish(port, ca, 'app', 'x = 1\n') == 1
    status, body = https(port, ca, 'GET', '/repo/app/')
    assert status == 200 and json.loads(body)['version'] == 1
    status, body = https(port, ca, 'GET', '/repo/app/main.py')
    assert (status, body) == (200, b'x = 1\n')
    # The token is still needed, and a client that does not trust the CA is refused by its own verification.
    assert https(port, ca, 'POST', '/api/v1/codebases', {'name': 'other'}, token=None)[0] == 401
    with pytest.raises(ssl.SSLCertVerificationError):
        https(port, None, 'GET', '/repo/app/')
    # Plain HTTP on the TLS port gets no answer, and the server keeps serving.
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=5)
    with pytest.raises((OSError, http.client.HTTPException)):
        conn.request('GET', '/repo/app/')
        conn.getresponse().read()
    conn.close()
    assert https(port, ca, 'GET', '/repo/app/')[0] == 200


def test_worker_pulls_over_https_with_repo_ca_and_refuses_without(tmp_path, tls_repo, certs, workers):
    port, ca = tls_repo.port, certs['ca']
    app_port = free_port()
    publish(port, ca, 'app', APP.replace('{port}', str(app_port)).replace('{n}', '1'))
    url = 'https://127.0.0.1:%d/repo/app/' % port

    # Without the CA: the certificate does not verify, the error is logged, and nothing from the repo runs.
    untrusting = workers([url, '--repo-cache', str(tmp_path / 'cache-untrusting')])
    assert wait_for(lambda: 'certificate verify failed' in untrusting.log().lower(), 10, 0.1), untrusting.log()
    time.sleep(0.5)
    assert untrusting.proc.poll() is None                  # it keeps retrying, in case the repo gets fixed
    assert not wait_port(app_port, 0.3), 'unverified code is running'
    assert not os.path.exists(tmp_path / 'cache-untrusting' / 'v1')
    untrusting.stop()

    # With --repo-ca: it pulls, serves, and follows a new version over the long poll.
    trusting = workers([url, '--repo-ca', ca, '--repo-cache', str(tmp_path / 'cache')])
    trusting.wait_ready(app_port)
    assert get(app_port, '/', 2.0)[1] == 'v1'
    publish(port, ca, 'app', APP.replace('{port}', str(app_port)).replace('{n}', '2'))
    assert wait_for(lambda: get(app_port, '/', 2.0)[1] == 'v2', 10, 0.05), trusting.log()
    # It reports itself over HTTPS too.
    assert wait_for(lambda: str(trusting.pid) in https(port, ca, 'GET', '/api/v1/instances')[1].decode(), 5, 0.1)


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
