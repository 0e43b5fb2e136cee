"""samples/forward-proxy end to end: its main.py as a real pipyx process with PORT and ALLOW, curl -x through it
(plain absolute-form requests, and CONNECT with -p) to test/helpers/backend_app.py, and 403 for a host not allowed."""
import json
import os
import subprocess

import pytest

from test.helpers import ROOT, PipyxProcess, free_port, lacks

SAMPLE = os.path.join(ROOT, 'samples', 'forward-proxy', 'main.py')

pytestmark = pytest.mark.skipif(lacks('curl'), reason='curl is not installed')


@pytest.fixture
def proxy(tmp_path):
    port = free_port()
    p = PipyxProcess([SAMPLE], cwd=str(tmp_path), env={'PORT': str(port), 'ALLOW': '127.0.0.*, LocalHost'})
    p.wait_ready(port)
    p.port = port
    yield p
    p.stop()


def curl(*args):
    return subprocess.run(['curl', '-sS', '--max-time', '5'] + list(args), capture_output=True, timeout=15)


def test_plain_request_goes_to_the_host_in_the_url(proxy, backend):
    out = curl('-x', 'http://127.0.0.1:%d' % proxy.port, 'http://localhost:%d/echo?a=1' % backend)
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout)
    assert seen['path'] == '/echo?a=1'                          # origin form, not the absolute URL
    headers = {k.lower(): v for k, v in seen['headers']}
    assert headers['host'] == 'localhost:%d' % backend
    assert 'proxy-connection' not in headers


def test_connect_tunnel(proxy, backend):
    out = curl('-p', '-x', 'http://127.0.0.1:%d' % proxy.port, '-d', 'through the tunnel',
               'http://127.0.0.1:%d/echo' % backend)
    assert out.returncode == 0, out.stderr
    assert b'through the tunnel' in out.stdout


def test_host_not_allowed_gets_403_both_ways(proxy, backend):
    plain = curl('-x', 'http://127.0.0.1:%d' % proxy.port, '-w', '%{http_code}', '-o', '/dev/null',
                 'http://blocked.invalid:%d/' % backend)
    assert plain.stdout == b'403'
    tunnel = curl('-p', '-x', 'http://127.0.0.1:%d' % proxy.port, 'http://example.invalid:%d/' % backend)
    assert tunnel.returncode != 0 and b'403' in tunnel.stderr
