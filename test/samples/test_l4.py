"""samples/l4 end to end: the balancer over TCP in front of two nginx reading the PROXY protocol (each answers with
the client address the header gave: the real one), a refused target skipped; over UDP in front of socat echo servers,
with a PROXY v2 header in the first datagram only; the SOCKS server with curl --socks5-hostname, its allow list and
its users file."""
import os
import socket
import struct
import subprocess

from test.filters.l4_support import nginx_reading_proxy_protocol
from test.filters.l4_targets import refused_address
from test.helpers import ROOT, free_port, lacks, wait_for
from test.io.udp_peers import wait_udp

BALANCER = os.path.join(ROOT, 'samples', 'l4', 'balancer.py')
SOCKS = os.path.join(ROOT, 'samples', 'l4', 'socks.py')


def http_get_via(port):
    """GET / through the balancer; returns (the answer's body, the client's own 'ip:port')."""
    with socket.create_connection(('127.0.0.1', port), timeout=5) as s:
        me = '%s:%d' % s.getsockname()
        s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        got = b''
        while True:
            b = s.recv(4096)
            if not b:
                break
            got += b
    return got.split(b'\r\n\r\n', 1)[1].decode().strip(), me


def test_tcp_balancer_tells_nginx_the_real_client(processes, tmp_path):
    first, log1 = nginx_reading_proxy_protocol(processes, tmp_path)
    second, log2 = nginx_reading_proxy_protocol(processes, tmp_path)
    port = free_port()
    targets = ','.join(['127.0.0.1:%d' % first, refused_address(), '127.0.0.1:%d' % second])
    processes.pipyx([BALANCER], port=port, env={'PORT': str(port), 'TARGETS': targets, 'PROXY_PROTOCOL': 'v1'})
    for _ in range(4):
        body, me = http_get_via(port)
        assert body == me                                      # nginx saw the client, not pipyx
    wait_for(lambda: log1.exists() and log2.exists(), 3)
    assert len(log1.read_text().splitlines()) == 2 and len(log2.read_text().splitlines()) == 2


def test_tcp_balancer_with_proxy_protocol_v2_and_hashing(processes, tmp_path):
    nginx, _ = nginx_reading_proxy_protocol(processes, tmp_path)
    port = free_port()
    processes.pipyx([BALANCER], port=port, env={'PORT': str(port), 'TARGETS': '127.0.0.1:%d' % nginx,
                                                'PROXY_PROTOCOL': 'v2', 'ALGO': 'hash'})
    body, me = http_get_via(port)
    assert body == me


def socat_udp_echo(processes):
    lacks('socat')
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    processes.start(['socat', 'UDP4-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork' % port, 'PIPE'], name='socat-udp')
    wait_udp(port, data=b'ping')
    return port


def udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_udp_balancer_over_socat_echo_servers(processes):
    targets = ','.join('127.0.0.1:%d' % socat_udp_echo(processes) for _ in range(2))
    port = udp_port()
    processes.pipyx([BALANCER], env={'PORT': str(port), 'TARGETS': targets, 'PROTOCOL': 'udp'})
    wait_udp(port, data=b'ping')
    clients = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(3)]
    try:
        for i, c in enumerate(clients):
            c.settimeout(2)
            for n in (1, 700, 1400):
                payload = bytes([i + 65]) * n
                c.sendto(payload, ('127.0.0.1', port))
                assert c.recvfrom(65535)[0] == payload         # whole, and back to the client that sent it
    finally:
        for c in clients:
            c.close()


def test_udp_balancer_puts_a_proxy_v2_header_in_the_first_datagram(processes):
    echo = socat_udp_echo(processes)
    port = udp_port()
    processes.pipyx([BALANCER], env={'PORT': str(port), 'TARGETS': '127.0.0.1:%d' % echo, 'PROTOCOL': 'udp',
                                     'PROXY_PROTOCOL': 'v2'})
    wait_udp(port, data=b'ping')
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
        c.bind(('127.0.0.1', 0))
        c.settimeout(2)
        c.sendto(b'first', ('127.0.0.1', port))
        first = c.recvfrom(65535)[0]                           # the echo shows what the target received
        c.sendto(b'second', ('127.0.0.1', port))
        second = c.recvfrom(65535)[0]
        me = c.getsockname()
    assert first.startswith(b'\r\n\r\n\x00\r\nQUIT\n\x21\x12')    # v2, PROXY, UDP over IPv4
    length = struct.unpack('!H', first[14:16])[0]
    src, dst, sport, dport = struct.unpack('!4s4sHH', first[16:28])
    assert socket.inet_ntoa(src) == me[0] and sport == me[1] and dport == port
    assert first[16 + length:] == b'first'
    assert second == b'second'                                 # the header is sent once, not in every datagram


def test_balancer_refuses_bad_settings(processes):
    for env, said in (({}, 'TARGETS is required'), ({'TARGETS': 'a:1', 'PROTOCOL': 'sctp'}, 'PROTOCOL'),
                      ({'TARGETS': 'a:1', 'PROTOCOL': 'udp', 'PROXY_PROTOCOL': 'v1'}, 'no UDP')):
        proc = processes.pipyx([BALANCER], env=dict(env, PORT=str(free_port())))
        assert proc.wait(10) != 0
        assert said in proc.log(), proc.log()


def curl_socks(proxy_port, url, user=None):
    lacks('curl')
    proxy = 'socks5h://%s127.0.0.1:%d' % (user + '@' if user else '', proxy_port)
    r = subprocess.run(['curl', '-s', '-o', '-', '-w', '\n%{http_code}', '--max-time', '5', '-x', proxy, url],
                       capture_output=True, text=True, timeout=10)
    return r.returncode, r.stdout.rsplit('\n', 1)[-1]


def test_socks_server_allow_list(processes, backend):
    port = free_port()
    p = processes.pipyx([SOCKS], port=port, env={'PORT': str(port), 'ALLOW': 'local*'})
    assert curl_socks(port, 'http://localhost:%d/echo' % backend) == (0, '200')
    code, _ = curl_socks(port, 'http://127.0.0.1:%d/echo' % backend)   # not a name ALLOW lets through
    assert code != 0
    wait_for(lambda: 'host not in ALLOW' in p.log(), 3)


def test_socks_server_users_file(processes, backend, tmp_path):
    users = tmp_path / 'users'
    users.write_text('# who may use the proxy\nann:s3cret\n\nbob:hunter2\n')
    port = free_port()
    processes.pipyx([SOCKS], port=port, env={'PORT': str(port), 'USERS': str(users)})
    assert curl_socks(port, 'http://localhost:%d/echo' % backend, 'ann:s3cret') == (0, '200')
    assert curl_socks(port, 'http://localhost:%d/echo' % backend, 'bob:hunter2') == (0, '200')
    assert curl_socks(port, 'http://localhost:%d/echo' % backend, 'ann:wrong')[0] != 0
    assert curl_socks(port, 'http://localhost:%d/echo' % backend)[0] != 0  # no login at all
