"""What the mux_http and connect tests share: demux_http -> mux_http -> connect as a reverse proxy in front of
test/helpers/backend_app.py, one pipyx process with a port per variant (a pool, a dead upstream, a read timeout,
one request per upstream connection) for a whole test module."""
import pytest

from test.helpers import Backend, ScriptOnPorts, free_port


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


class Proxy(ScriptOnPorts):
    def __init__(self, tmp, backend_port):
        self.dead = free_port()          # nothing listens there
        self.backend = backend_port
        super().__init__(tmp, PROXY_SCRIPT, PORT_NAMES, backend=backend_port, dead=self.dead)


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
