"""samples/https end to end: the sample's main.py as a real pipyx process with certificates made by the test, serving
samples/serve's site to curl, and in front of an upstream (plain, or TLS checked against its CA), telling the upstream
the subject of a required client certificate.
"""
import os
import subprocess

import pytest

from test.filters.tls_support import Certificates, handshake_refused, tls_get
from test.helpers import ROOT, PipyxProcess, free_port, lacks

SAMPLE = os.path.join(ROOT, 'samples', 'https', 'main.py')

UPSTREAM = """
from pipyx import pipy
F = {files!r}

def who(req):
    return 'upstream saw %s' % req.head.headers.get('x-client-cert-subject', 'nobody')

pipy().listen({plain}).serve_http(who)
pipy().listen({tls}).accept_tls(certificate=F['main']).to(lambda p: p.serve_http(who))
"""


@pytest.fixture(scope='module')
def certs(tmp_path_factory):
    return Certificates(tmp_path_factory.mktemp('certs'))


@pytest.fixture
def run(tmp_path, certs):
    started = []

    def start(**env):
        port = free_port()
        env = dict({'PORT': str(port), 'CERT': certs.files['main']['cert'], 'KEY': certs.files['main']['key']}, **env)
        started.append(PipyxProcess([SAMPLE], cwd=str(tmp_path), env=env).wait_ready(port))
        return port
    yield start
    for p in started:
        p.stop()


@pytest.fixture
def upstream(tmp_path, certs):
    plain, tls = free_port(), free_port()
    script = tmp_path / 'upstream.py'
    script.write_text(UPSTREAM.format(files=certs.files, plain=plain, tls=tls))
    p = PipyxProcess([str(script)], cwd=str(tmp_path)).wait_ready(plain)
    p.wait_ready(tls)
    yield plain, tls
    p.stop()


@pytest.mark.skipif(lacks('curl'), reason='curl is not installed')
def test_the_site_over_https_to_curl(run, certs):
    port = run()
    out = subprocess.run(['curl', '-sS', '--cacert', certs.files['ca'], 'https://localhost:%d/' % port],
                         capture_output=True, timeout=20)
    assert out.returncode == 0 and b'<html' in out.stdout.lower(), out.stderr


def test_in_front_of_an_upstream_with_client_certificates_required(run, certs, upstream):
    port = run(UPSTREAM='127.0.0.1:%d' % upstream[0], CLIENT_CA=certs.files['ca'])
    status, body, _, _, alpn = tls_get(port, certs=certs, cert='allowed', alpn=['h2', 'http/1.1'])
    assert (status, alpn) == (200, 'http/1.1')
    assert body.startswith(b'upstream saw ') and b'CN=allowed.client' in body
    assert handshake_refused(port, certs=certs)                    # no certificate: refused


def test_tls_to_the_upstream_checked_against_its_ca(run, certs, upstream):
    good = run(UPSTREAM='127.0.0.1:%d' % upstream[1], UPSTREAM_TLS='1', UPSTREAM_CA=certs.files['ca'])
    assert tls_get(good, certs=certs)[:2] == (200, b'upstream saw nobody')
    bad = run(UPSTREAM='127.0.0.1:%d' % upstream[1], UPSTREAM_TLS='1', UPSTREAM_CA=certs.files['other_ca'])
    assert tls_get(bad, certs=certs)[0] == 502
