"""Step 11 of the tutorial, end to end as its README tells it: make-certs.sh makes the certificates, main.py runs
beside the backends of step 3, and curl is the client on each of the four ports."""
import os
import subprocess

import pytest

from test.helpers import free_port, lacks, wait_port
from test.tutorial.test_steps import backends, step  # noqa: F401  (backends: a fixture)

pytestmark = pytest.mark.skipif(lacks('curl') or lacks('openssl'), reason='curl and openssl are needed')


def curl(*args):
    """(exit code, what curl printed): curl's exit code tells a refused handshake (35, 56) from an answer."""
    out = subprocess.run(['curl', '-sS', '--http1.1', '--max-time', '10', *args], capture_output=True, timeout=20)
    return out.returncode, out.stdout.decode()


@pytest.fixture
def step11(run_pipyx, backends, tmp_path):  # noqa: F811
    certs = str(tmp_path / 'certs')
    subprocess.run(['sh', step('11-tls', 'make-certs.sh')], env=dict(os.environ, CERTS=certs), check=True,
                   capture_output=True, timeout=60)
    b1, b2 = backends(2)
    ports = {name: free_port() for name in ('HTTPS_PORT', 'MTLS_PORT', 'PROXY_PORT', 'PASSTHROUGH_PORT')}
    p = run_pipyx(path=step('11-tls', 'main.py'), port=ports['HTTPS_PORT'],
                  env=dict({k: str(v) for k, v in ports.items()}, CERTS=certs,
                           BACKENDS='127.0.0.1:%d,127.0.0.1:%d' % (b1, b2)))
    for port in ports.values():
        assert wait_port(port, proc=p.proc), p.log()
    return certs, ports, (b1, b2), p


def test_11_tls_terminates_with_a_certificate_per_name_and_routes_by_it(step11):
    certs, ports, (b1, b2), p = step11
    https, ca = ports['HTTPS_PORT'], os.path.join(certs, 'ca.pem')
    for name, backend in (('a.example', b1), ('b.example', b2)):
        assert curl('--cacert', ca, '--resolve', '%s:%d:127.0.0.1' % (name, https),
                    'https://%s:%d/x' % (name, https)) == (0, 'backend %d: GET /x\n' % backend)
    assert curl('--cacert', ca, 'https://localhost:%d/y' % https) == (0, 'backend %d: GET /y\n' % b1)
    code, _ = curl('--cacert', ca, '--resolve', 'c.example:%d:127.0.0.1' % https, 'https://c.example:%d/' % https)
    assert code != 0                                          # no certificate for that name: refused
    assert "no certificate for 'c.example'" in p.log()


def test_11_tls_mutual_tls_wants_a_client_certificate(step11):
    certs, ports, _, p = step11
    mtls, ca = ports['MTLS_PORT'], os.path.join(certs, 'ca.pem')
    alice = ('--cert', os.path.join(certs, 'alice.pem'), '--key', os.path.join(certs, 'alice-key.pem'))
    assert curl('--cacert', ca, *alice, 'https://localhost:%d/' % mtls) == (0, 'hello, CN=alice\n')
    assert curl('--cacert', ca, 'https://localhost:%d/' % mtls)[0] != 0


def test_11_tls_plain_http_goes_on_to_an_https_upstream(step11):
    _, ports, (_, b2), _ = step11
    assert curl('http://127.0.0.1:%d/z' % ports['PROXY_PORT'], 'http://127.0.0.1:%d/w' % ports['PROXY_PORT']) == \
        (0, 'backend %d: GET /z\nbackend %d: GET /w\n' % (b2, b2))      # (b.example is the upstream's name)


def test_11_tls_passthrough_routes_tls_by_name_without_terminating_it(step11):
    certs, ports, (b1, _), _ = step11
    through, ca = ports['PASSTHROUGH_PORT'], os.path.join(certs, 'ca.pem')
    assert curl('--cacert', ca, '--resolve', 'a.example:%d:127.0.0.1' % through,
                'https://a.example:%d/p' % through) == (0, 'backend %d: GET /p\n' % b1)
    alice = ('--cert', os.path.join(certs, 'alice.pem'), '--key', os.path.join(certs, 'alice-key.pem'))
    assert curl('--cacert', ca, *alice, 'https://localhost:%d/' % through) == (0, 'hello, CN=alice\n')
