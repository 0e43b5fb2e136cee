"""accept_socks and connect_socks against real peers: curl through pipyx as a SOCKS5/4/4a proxy (with and without a
login) to test/helpers/backend_app.py, and pipyx reaching the backend through its own SOCKS server; a malformed
greeting, a wrong password, a refused target, each answered with the protocol's error and one log line."""
import socket
import subprocess

import pytest

from test.helpers import FAST_STOP, Backend, Processes, RawClient, free_port, json_of, lacks, req, wait_for

SERVER = '''
from pipyx import pipy, socks_target

ALLOWED = {'127.0.0.1', 'localhost'}
USERS = {'alice': 'secret'}

def allow(host, port, user):
    return host in ALLOWED

def login(user, password):
    return USERS.get(user) == password

pipy().listen('127.0.0.1:%(open)d').accept_socks(allow).to(lambda p: p.connect(socks_target))
pipy().listen('127.0.0.1:%(login)d').accept_socks(allow, auth=login).to(lambda p: p.connect(socks_target))
'''


class Running:
    """The module's pipyx as one test sees it: its log lines since the test began."""

    def __init__(self, proc, ports):
        self.proc, self.ports, self.mark = proc, ports, len(proc.log())

    def log(self):
        return self.proc.log()[self.mark:]


@pytest.fixture(scope='module')
def backend(tmp_path_factory):
    """One backend_app.py for the module (in place of the one per test)."""
    b = Backend(tmp_path_factory.mktemp('backend'))
    yield b.port
    b.stop()


@pytest.fixture(scope='module')
def socks_server(tmp_path_factory):
    d = tmp_path_factory.mktemp('socks')
    held = Processes(d)
    ports = {'open': free_port(), 'login': free_port()}
    (d / 'main.py').write_text(SERVER % ports)
    proc = held.pipyx([str(d / 'main.py')] + FAST_STOP, port=ports['login'])
    yield proc, ports
    held.stop_all()


@pytest.fixture
def socks(socks_server):
    proc, ports = socks_server
    assert proc.proc.poll() is None, proc.log()[-3000:]
    return Running(proc, ports)


def warnings(p):
    return [line for line in p.log().splitlines() if ' WARNING ' in line]


def curl(*args):
    return subprocess.run(['curl', '-sS', '--max-time', '5'] + list(args), capture_output=True, timeout=15)


pytestmark = pytest.mark.skipif(lacks('curl'), reason='curl is not installed')


@pytest.mark.parametrize('option, host', [
    ('--socks5', '127.0.0.1'), ('--socks5-hostname', 'localhost'), ('--socks4', '127.0.0.1'),
    ('--socks4a', 'localhost'),
])
def test_curl_through_accept_socks(socks, backend, option, host):
    out = curl(option, '127.0.0.1:%d' % socks.ports['open'], 'http://%s:%d/echo' % (host, backend))
    assert out.returncode == 0, out.stderr
    assert b'"path": "/echo"' in out.stdout or b'"path":"/echo"' in out.stdout


def test_large_download_through_socks_is_intact(socks, backend):
    out = curl('--socks5-hostname', '127.0.0.1:%d' % socks.ports['open'], 'http://localhost:%d/big/3000000' % backend)
    assert out.returncode == 0 and len(out.stdout) == 3000000


def test_refused_target_gets_not_allowed_and_one_log_line(socks, backend):
    out = curl('--socks5-hostname', '127.0.0.1:%d' % socks.ports['open'], 'http://example.invalid:%d/' % backend)
    assert out.returncode == 97, (out.returncode, out.stderr)     # curl's "proxy handshake error"
    wait_for(lambda: warnings(socks), 3.0, 'a log line')
    w = warnings(socks)
    assert len(w) == 1 and 'CONNECT to example.invalid:%d not allowed' % backend in w[0], w


def test_login(socks, backend):
    url = 'http://127.0.0.1:%d/echo' % backend
    proxy = '127.0.0.1:%d' % socks.ports['login']
    assert curl('--socks5', proxy, '--proxy-user', 'alice:secret', url).returncode == 0
    wrong = curl('--socks5', proxy, '--proxy-user', 'alice:guess', url)
    assert wrong.returncode != 0
    none = curl('--socks5', proxy, url)                        # no login offered where one is required
    assert none.returncode != 0
    socks4 = curl('--socks4', proxy, url)                      # SOCKS4 cannot carry a password
    assert socks4.returncode != 0
    wait_for(lambda: len(warnings(socks)) >= 3, 3.0, 'three log lines')
    w = warnings(socks)
    assert len(w) == 3, w
    assert "wrong username or password for 'alice'" in w[0] and 'guess' not in w[0]
    assert 'no username/password login' in w[1] and 'SOCKS4 cannot' in w[2]


def raw(port, data):
    with socket.create_connection(('127.0.0.1', port), timeout=3) as s:
        s.sendall(data)
        out = b''
        while True:
            try:
                b = s.recv(4096)
            except ConnectionResetError:
                break
            if not b:
                break
            out += b
        return out


@pytest.mark.parametrize('data, reply, logged', [
    (b'\x05\x00', b'\x05\xff', 'offers no method'),
    (b'GET / HTTP/1.1\r\n\r\n', b'', 'not a SOCKS greeting'),
    (b'\x05\x01\x00\x05\x02\x00\x01\x7f\x00\x00\x01\x00\x50', b'\x05\x00\x05\x07', 'command 2 is not supported'),
])
def test_malformed_handshakes(socks, backend, data, reply, logged):
    out = raw(socks.ports['open'], data)
    assert out[:len(reply)] == reply and len(out) in (len(reply), len(reply) + 8), out
    wait_for(lambda: warnings(socks), 3.0, 'a log line')
    assert len(warnings(socks)) == 1 and logged in warnings(socks)[0], warnings(socks)
    # nothing else disturbed
    assert curl('--socks5', '127.0.0.1:%d' % socks.ports['open'], 'http://127.0.0.1:%d/echo' % backend).returncode == 0


CLIENT = '''
from pipyx import pipy, socks_target

def login(user, password):
    return (user, password) == ('alice', 'secret')

pipy().listen('127.0.0.1:%(proxy)d').accept_socks(auth=login).to(lambda p: p.connect(socks_target))
pipy().listen('127.0.0.1:%(front)d').connect_socks('localhost:%(backend)d', username='alice', password='secret').to(
    lambda p: p.connect('127.0.0.1:%(proxy)d'))
pipy().listen('127.0.0.1:%(wrong)d').connect_socks('localhost:%(backend)d', username='alice', password='guess').to(
    lambda p: p.connect('127.0.0.1:%(proxy)d'))
'''


def test_connect_socks_through_a_socks5_proxy(run_pipyx, backend):
    ports = {'proxy': free_port(), 'front': free_port(), 'wrong': free_port(), 'backend': backend}
    p = run_pipyx(CLIENT % ports, port=ports['wrong'], args=FAST_STOP)
    with RawClient(ports['front']) as c:
        for _ in range(3):                                     # keep-alive: the stream goes on after the handshake
            c.send(req('/conn'))
            r = c.read_response()
            assert r.status == 200
        assert json_of(r)['requests'] == 3
    assert raw(ports['wrong'], req('/echo')) == b''            # the proxy refused the login: closed
    wait_for(lambda: len(warnings(p)) >= 2, 3.0, 'the log lines of both sides')
    w = warnings(p)
    assert len(w) == 2, w
    assert any("wrong username or password for 'alice'" in line for line in w)
    assert any("connect_socks to localhost:%d: the proxy refused username 'alice'" % backend in line for line in w)


def socks5_connect(port, host, target_port):
    """A socket through the SOCKS5 server on port to host:target_port, the handshake done with SocksClient."""
    from pipyx._native import SocksClient
    s = socket.create_connection(('127.0.0.1', port), timeout=10)
    c = SocksClient(host, target_port)
    s.sendall(c.start())
    while True:
        r = c.feed(s.recv(4096))
        out = c.take_output()
        if out:
            s.sendall(out)
        if r == 3:
            return s
        assert r == 0, c.error


@pytest.mark.skipif(lacks('socat'), reason='socat is not installed')
def test_large_transfers_both_ways_with_half_close(socks, processes):
    import hashlib
    import os
    # socat runs the command per connection: it reads to our FIN, answers with the hash of what it read and 5 MB,
    # then closes; pipyx must carry our half-close and then its answer.
    up = free_port()
    processes.start(['socat', 'TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr' % up,
                     'SYSTEM:sha256sum; head -c 5000000 /dev/zero'], port=up, name='socat')
    payload = os.urandom(4 << 20)
    with socks5_connect(socks.ports['open'], '127.0.0.1', up) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        got = bytearray()
        while True:
            b = s.recv(1 << 16)
            if not b:
                break
            got += b
    line, _, rest = bytes(got).partition(b'\n')
    assert line.split()[0].decode() == hashlib.sha256(payload).hexdigest()
    assert len(rest) == 5000000 and rest.count(0) == 5000000


ASYNC = '''
import asyncio
from pipyx import pipy, socks_target

async def login(user, password):
    await asyncio.sleep(0.05)                 # a lookup elsewhere
    return (user, password) == ('alice', 'secret')

async def allow(host, port, user):
    await asyncio.sleep(0.05)
    return user == 'alice'

pipy().listen('127.0.0.1:%(port)d').accept_socks(allow, auth=login).to(lambda p: p.connect(socks_target))
'''


def test_awaited_callbacks(run_pipyx, backend):
    port = free_port()
    p = run_pipyx(ASYNC % {'port': port}, port=port, args=FAST_STOP)
    url = 'http://127.0.0.1:%d/echo' % backend
    assert curl('--socks5', '127.0.0.1:%d' % port, '--proxy-user', 'alice:secret', url).returncode == 0
    assert curl('--socks5', '127.0.0.1:%d' % port, '--proxy-user', 'alice:nope', url).returncode != 0
    wait_for(lambda: warnings(p), 3.0, 'a log line')
    assert len(warnings(p)) == 1 and 'wrong username or password' in warnings(p)[0]


def test_an_error_in_on_connect_is_reported_with_its_line(run_pipyx, backend):
    port = free_port()
    p = run_pipyx('''
from pipyx import pipy, socks_target

def allow(host, port, user):
    return 1 / 0

pipy().listen('127.0.0.1:%d').accept_socks(allow).to(lambda p: p.connect(socks_target))
''' % port, port=port, args=FAST_STOP)
    out = curl('--socks5', '127.0.0.1:%d' % port, 'http://127.0.0.1:%d/' % backend)
    assert out.returncode != 0
    wait_for(lambda: 'ZeroDivisionError' in p.log(), 3.0, 'the error in the log')
    assert 'main-0.py:5' in p.log(), p.log()
