"""What the mux_http and connect tests share: demux_http -> mux_http -> connect as a reverse proxy in front of
test/helpers/backend_app.py, one pipyx process with a port per variant (a pool, a dead upstream, a read timeout,
one request per upstream connection) for a whole test module."""
import os
import textwrap

import pytest

from test.helpers import Backend, PipyxProcess, free_port


PROXY_SCRIPT = '''
from pipyx import pipy

B = '127.0.0.1:{backend}'


def proxy(port, connect_target=B, **connect_opts):
    pipy().listen('127.0.0.1:%d' % port).demux_http().to(
        lambda p: p.mux_http().to(lambda p: p.connect(connect_target, **connect_opts)))


proxy({p_main})
proxy({p_pool})
proxy({p_refused}, '127.0.0.1:{dead}')
proxy({p_timeout}, read_timeout=0.3)
pipy().listen('127.0.0.1:{p_once}').demux_http().to(
    lambda p: p.mux_http(max_messages=1).to(lambda p: p.connect(B)))
'''


PORT_NAMES = ('p_main', 'p_pool', 'p_refused', 'p_timeout', 'p_once')


class Proxy:
    def __init__(self, tmp, backend_port):
        self.ports = {n: free_port() for n in PORT_NAMES}
        self.dead = free_port()          # nothing listens there
        self.backend = backend_port
        path = os.path.join(tmp, 'main.py')
        with open(path, 'w') as f:
            f.write(textwrap.dedent(PROXY_SCRIPT.format(backend=backend_port, dead=self.dead, **self.ports)))
        self.proc = PipyxProcess([path], cwd=tmp)
        for p in self.ports.values():
            self.proc.wait_ready(p)

    def __getattr__(self, name):
        if name in PORT_NAMES:
            return self.ports[name]
        raise AttributeError(name)

    def alive(self):
        return self.proc.proc.poll() is None


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    holder = {'tmp': tmp_path_factory, 'proxy': None, 'all': [], 'backend': Backend()}
    yield holder
    for p in holder['all']:
        p.proc.stop()
    holder['backend'].stop()


@pytest.fixture
def proxy(setup):
    """The module's proxy (restarted if an earlier test killed it); checked to be running after the test."""
    b = setup['backend']
    assert b.proc.poll() is None, 'backend_app.py died:\n' + b.log()
    p = setup['proxy']
    if p is None or not p.alive():
        p = setup['proxy'] = Proxy(str(setup['tmp'].mktemp('proxy')), b.port)
        setup['all'].append(p)
    yield p
    assert p.alive(), 'pipyx exited (code %s):\n%s' % (p.proc.proc.returncode, p.proc.log()[-3000:])
