"""Tutorial steps 13 (WebSocket) and 14 (a forward proxy), each a real pipyx process on 127.0.0.1 with step 3's
backends, checked against what its README says the reader will see."""
import subprocess

import pytest
from websockets.sync.client import connect as ws_connect

from test.helpers import free_port, lacks, request
from test.tutorial.test_steps import backends, step  # noqa: F401  (the fixture)


def test_13_websocket_shout_and_the_proxy_still_proxies(run_pipyx, backends):  # noqa: F811
    (upstream,) = backends(1)
    port = free_port()
    run_pipyx(path=step('13-websocket', 'main.py'), port=port,
              env={'PORT': str(port), 'UPSTREAM': '127.0.0.1:%d' % upstream})
    with ws_connect('ws://127.0.0.1:%d/shout' % port, open_timeout=5, close_timeout=5) as ws:
        ws.send('hello there')
        assert ws.recv(5) == 'HELLO THERE'
        assert ws.ping().wait(5)
    status, _, body = request(port, '/x')
    assert (status, body) == (200, b'backend %d: GET /x\n' % upstream)


@pytest.mark.skipif(lacks('curl'), reason='curl is not installed')
def test_14_forward_proxy(run_pipyx, backends):  # noqa: F811
    (upstream,) = backends(1)
    port = free_port()
    run_pipyx(path=step('14-forward-proxy', 'main.py'), port=port,
              env={'PORT': str(port), 'ALLOW': 'localhost,127.0.0.1'})
    ok = subprocess.run(['curl', '-sS', '--max-time', '5', '-p', '-x', 'http://localhost:%d' % port,
                         'http://127.0.0.1:%d/hi' % upstream], capture_output=True, timeout=15)
    assert ok.stdout == b'backend %d: GET /hi\n' % upstream, ok.stderr
    refused = subprocess.run(['curl', '-sS', '--max-time', '5', '-p', '-x', 'http://localhost:%d' % port,
                              'http://elsewhere.test:%d/' % upstream], capture_output=True, timeout=15)
    assert refused.returncode == 56 and b'403' in refused.stderr
