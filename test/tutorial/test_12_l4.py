"""tutorial/12-l4 end to end, as its README tells it: the TCP balancer over step 3's backends, skipping one that is
down; the UDP balancer in front of a DNS responder (dig); SOCKS with curl, allowed and refused; the PROXY protocol
written by one listener and read by another, and curl --haproxy-protocol."""
import os
import subprocess
import sys

from test.helpers import ROOT, free_port, lacks, request, wait_for, wait_port
from test.io.udp_peers import wait_udp

STEP = os.path.join(ROOT, 'tutorial', '12-l4', 'main.py')
BACKEND = os.path.join(ROOT, 'tutorial', '03-proxy', 'backend.py')
UDP_PEERS = os.path.join(ROOT, 'test', 'io', 'udp_peers.py')
DNS_QUERY = bytes.fromhex('abcd01000001000000000000') + b'\x07example\x04test\x00\x00\x01\x00\x01'


def udp_port():
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def start_step(run_pipyx, processes):
    backends = [free_port(), free_port()]
    run_pipyx(path=BACKEND, port=backends[0], env={'BACKEND_PORTS': ','.join(map(str, backends))})
    wait_port(backends[1])
    dns = udp_port()
    processes.start([sys.executable, UDP_PEERS, 'dns', str(dns)], name='dns')
    ports = {name: free_port() for name in ('PORT', 'SOCKS_PORT', 'WHO_PORT', 'FRONT_PORT')}
    ports['UDP_PORT'] = udp_port()
    env = {k: str(v) for k, v in ports.items()}
    env['BACKENDS'] = ','.join('127.0.0.1:%d' % b for b in backends)
    env['DNS_SERVERS'] = '127.0.0.1:%d' % dns
    p = run_pipyx(path=STEP, port=ports['FRONT_PORT'], env=env)
    return p, ports, backends


def body(port, path='/'):
    status, _, b = request(port, path)
    return status, b.decode()


def curl(*args):
    lacks('curl')
    r = subprocess.run(['curl', '-s', '--max-time', '5'] + list(args), capture_output=True, text=True, timeout=10)
    return r.returncode, r.stdout


def test_12_l4_every_server_of_the_step(run_pipyx, processes):
    p, ports, backends = start_step(run_pipyx, processes)

    # TCP: least connections over the two backends (one request at a time: they take turns)
    seen = {body(ports['PORT'], '/%d' % i)[1].split(':')[0] for i in range(4)}
    assert seen == {'backend %d' % b for b in backends}

    # UDP: dig through the balancer
    wait_udp(ports['UDP_PORT'], data=DNS_QUERY)
    lacks('dig')
    out = subprocess.run(['dig', '@127.0.0.1', '-p', str(ports['UDP_PORT']), 'example.test', '+short', '+tries=2',
                          '+time=2'], capture_output=True, text=True, timeout=10).stdout
    assert out.strip() == '192.0.2.1'

    # SOCKS: allowed to localhost, refused elsewhere
    socks = '127.0.0.1:%d' % ports['SOCKS_PORT']
    assert curl('--socks5-hostname', socks, 'http://localhost:%d/x' % backends[0]) == \
        (0, 'backend %d: GET /x\n' % backends[0])
    assert curl('--socks5-hostname', socks, 'http://127.0.0.1:%d/x' % backends[0])[0] != 0

    # PROXY protocol: written by FRONT_PORT, read by WHO_PORT; curl can write one too; no header, no answer
    code, text = curl('http://127.0.0.1:%d/' % ports['FRONT_PORT'])
    assert code == 0 and text.startswith('you are 127.0.0.1:') and text.endswith('(via 127.0.0.1)\n')
    code, text = curl('--haproxy-protocol', 'http://127.0.0.1:%d/' % ports['WHO_PORT'])
    assert code == 0 and text.startswith('you are 127.0.0.1:')
    assert curl('http://127.0.0.1:%d/' % ports['WHO_PORT'])[0] != 0


def test_12_l4_a_backend_down_is_skipped(run_pipyx, processes):
    dead = free_port()
    live = free_port()
    run_pipyx(path=BACKEND, port=live, env={'BACKEND_PORTS': str(live)})
    ports = {name: free_port() for name in ('PORT', 'SOCKS_PORT', 'WHO_PORT', 'FRONT_PORT')}
    env = {k: str(v) for k, v in ports.items()}
    env['UDP_PORT'] = str(udp_port())
    env['BACKENDS'] = '127.0.0.1:%d,127.0.0.1:%d' % (dead, live)
    p = run_pipyx(path=STEP, port=ports['FRONT_PORT'], env=env)
    for i in range(4):
        assert body(ports['PORT'], '/%d' % i) == (200, 'backend %d: GET /%d\n' % (live, i))
    wait_for(lambda: 'ConnectionRefused, retrying (1) with 127.0.0.1:%d' % live in p.log(), 3)
