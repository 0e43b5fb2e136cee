"""accept_proxy_protocol and connect_proxy_protocol against real peers: curl --haproxy-protocol and haproxy
(send-proxy-v2) in front of pipyx, nginx with proxy_protocol behind it; headers that are missing, malformed or lie,
each refused with one log line while other connections go on."""
import socket
import subprocess

import pytest

from pipyx._native import encode_proxy_header
from test.filters.l4_support import haproxy_sending_proxy_v2, nginx_reading_proxy_protocol
from test.helpers import FAST_STOP, Processes, free_port, lacks, wait_for

WHO = '''
from pipyx import pipy, ctx, Message

def who(req):
    i = ctx.inbound
    h = i.proxy_header
    tlvs = ','.join('%%d=%%s' %% (t, v.hex()) for t, v in sorted(h.tlvs.items()))
    return Message('%%s:%%s -> %%s:%%s v%%d %%s via %%s [%%s]\\n' %% (i.remote_address, i.remote_port, i.local_address,
                   i.local_port, h.version, h.command, i.via.remote_address, tlvs))

def on_header(h):
    return h.source_address != '10.6.6.6'

pipy().listen('127.0.0.1:%(port)d').accept_proxy_protocol(on_header).to(lambda p: p.serve_http(who))
'''


class Running:
    """The module's pipyx as one test sees it: its log since the test began."""

    def __init__(self, proc):
        self.proc, self.mark = proc, len(proc.log())

    def log(self):
        return self.proc.log()[self.mark:]


@pytest.fixture(scope='module')
def who_server(tmp_path_factory):
    d = tmp_path_factory.mktemp('who')
    held = Processes(d)
    port = free_port()
    (d / 'main.py').write_text(WHO % {'port': port})
    proc = held.pipyx([str(d / 'main.py')] + FAST_STOP, port=port)
    yield port, proc
    held.stop_all()


@pytest.fixture
def who(who_server):
    port, proc = who_server
    assert proc.proc.poll() is None, proc.log()[-3000:]
    return port, Running(proc)


def raw_exchange(port, data, timeout=3.0):
    """Sends data, half-closes, returns everything read until the server closes."""
    with socket.create_connection(('127.0.0.1', port), timeout=timeout) as s:
        s.sendall(data)
        out = b''
        while True:
            try:
                b = s.recv(65536)
            except ConnectionResetError:
                break
            if not b:
                break
            out += b
        return out


def warnings(p):
    return [line for line in p.log().splitlines() if ' WARNING ' in line]


REQUEST = b'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'


@pytest.mark.skipif(lacks('curl'), reason='curl is not installed')
def test_curl_haproxy_protocol_gives_the_client_address(who):
    port, p = who
    local = free_port()
    out = subprocess.run(['curl', '-sS', '--haproxy-protocol', '--local-port', str(local),
                          'http://127.0.0.1:%d/' % port], capture_output=True, timeout=10)
    assert out.returncode == 0, out.stderr
    assert out.stdout.decode() == '127.0.0.1:%d -> 127.0.0.1:%d v1 PROXY via 127.0.0.1 []\n' % (local, port)


def test_haproxy_send_proxy_v2(who, processes, tmp_path):
    port, p = who
    front = haproxy_sending_proxy_v2(processes, tmp_path, port)
    local = free_port()
    with socket.socket() as s:
        s.bind(('127.0.0.1', local))
        s.settimeout(5)
        s.connect(('127.0.0.1', front))
        s.sendall(REQUEST)
        body = b''
        while True:
            b = s.recv(65536)
            if not b:
                break
            body += b
    line = body.split(b'\r\n\r\n', 1)[1].decode()
    # the source is the client of haproxy, the destination haproxy's own port; the connection is haproxy's
    assert line.startswith('127.0.0.1:%d -> 127.0.0.1:%d v2 PROXY via 127.0.0.1' % (local, front)), line


def test_v2_tlvs_and_ipv6_addresses_reach_ctx_inbound(who):
    port, p = who
    header = encode_proxy_header(2, ('2001:db8::7', 40000), ('2001:db8::1', 443), None,
                                 {0x01: b'h2', 0xE0: b'\x00\x01'})
    out = raw_exchange(port, header + REQUEST)
    assert out.endswith(b'2001:db8::7:40000 -> 2001:db8::1:443 v2 PROXY via 127.0.0.1 [1=6832,224=0001]\n'), out


def test_local_command_keeps_the_connections_own_addresses(who):
    port, p = who
    out = raw_exchange(port, encode_proxy_header(2, None, None) + REQUEST)
    assert b' -> 127.0.0.1:%d v2 LOCAL via 127.0.0.1' % port in out, out
    assert out.startswith(b'HTTP/1.1 200')


@pytest.mark.parametrize('data, logged', [
    (REQUEST, 'no PROXY protocol header'),
    (b'PROXY TCP4 1.2.3.4 5.6.7.8 1 2' + b' ' * 100 + b'\r\n' + REQUEST, 'longer than 107'),
    (b'\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x05' + bytes(5) + REQUEST, 'too short'),             # a lying length
    (b'\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x14' + bytes(12) + b'\x05\x00\x40' + bytes(5) + REQUEST, 'runs past'),
    (encode_proxy_header(1, ('10.6.6.6', 1), ('10.0.0.1', 80)) + REQUEST, 'refused by on_header'),
])
def test_bad_headers_are_refused_with_one_log_line(who, data, logged):
    port, p = who
    assert raw_exchange(port, data) == b''                   # closed without a word
    wait_for(lambda: logged in p.log(), 3.0, 'the refusal was not logged:\n' + p.log())
    assert len(warnings(p)) == 1, p.log()
    # nothing else is disturbed
    ok = raw_exchange(port, encode_proxy_header(1, ('10.1.1.1', 5), ('10.0.0.1', 80)) + REQUEST)
    assert ok.startswith(b'HTTP/1.1 200') and b'10.1.1.1:5 -> 10.0.0.1:80 v1' in ok


def test_a_header_split_in_pieces(who):
    port, p = who
    data = encode_proxy_header(2, ('192.0.2.9', 1234), ('192.0.2.1', 80)) + REQUEST
    with socket.create_connection(('127.0.0.1', port), timeout=3) as s:
        for i in range(0, len(data), 7):
            s.sendall(data[i:i + 7])
        out = b''
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    assert b'192.0.2.9:1234 -> 192.0.2.1:80 v2 PROXY' in out, out


@pytest.mark.parametrize('version', [1, 2])
def test_connect_proxy_protocol_to_nginx(version, run_pipyx, processes, tmp_path):
    nginx, access_log = nginx_reading_proxy_protocol(processes, tmp_path)
    port = free_port()
    run_pipyx('''
from pipyx import pipy
pipy().listen('127.0.0.1:%d').connect_proxy_protocol(%d).to(lambda p: p.connect('127.0.0.1:%d'))
''' % (port, version, nginx), port=port, args=FAST_STOP)
    local = free_port()
    with socket.socket() as s:
        s.bind(('127.0.0.1', local))
        s.settimeout(5)
        s.connect(('127.0.0.1', port))
        s.sendall(REQUEST)
        out = b''
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    assert out.startswith(b'HTTP/1.1 200') and out.endswith(b'\r\n\r\n127.0.0.1:%d\n' % local), out
    # nginx logs the real address, and that the connection came from pipyx
    wait_for(lambda: access_log.exists() and access_log.read_text().strip(), 3.0, 'nginx logged nothing')
    assert access_log.read_text().strip() == '127.0.0.1:%d via 127.0.0.1' % local


def test_connect_proxy_protocol_chained_after_accept_keeps_the_original_client(run_pipyx, processes, tmp_path):
    # haproxy-style chain: a header received is passed on, so nginx sees the first client, not pipyx
    nginx, access_log = nginx_reading_proxy_protocol(processes, tmp_path)
    port = free_port()
    run_pipyx('''
from pipyx import pipy
pipy().listen('127.0.0.1:%d').accept_proxy_protocol().to(
    lambda p: p.connect_proxy_protocol(2).to(lambda p: p.connect('127.0.0.1:%d')))
''' % (port, nginx), port=port, args=FAST_STOP)
    out = raw_exchange(port, encode_proxy_header(1, ('198.51.100.4', 6000), ('203.0.113.1', 443)) + REQUEST)
    assert out.endswith(b'\r\n\r\n198.51.100.4:6000\n'), out


def test_connect_proxy_protocol_with_addresses_from_a_callback(run_pipyx, processes, tmp_path):
    nginx, access_log = nginx_reading_proxy_protocol(processes, tmp_path)
    port = free_port()
    run_pipyx('''
from pipyx import pipy
pipy().listen('127.0.0.1:%d').connect_proxy_protocol(1, addresses=lambda: (('192.0.2.50', 4321), ('192.0.2.1', 80))
    ).to(lambda p: p.connect('127.0.0.1:%d'))
''' % (port, nginx), port=port, args=FAST_STOP)
    assert raw_exchange(port, REQUEST).endswith(b'\r\n\r\n192.0.2.50:4321\n')


def test_http_keep_alive_behind_the_header_and_an_awaited_on_header(run_pipyx):
    # the HTTP server behind the header is still the connection's: keep-alive, and one header for all requests
    port = free_port()
    p = run_pipyx('''
import asyncio
from pipyx import pipy, ctx, Message

async def on_header(h):
    await asyncio.sleep(0.05)
    return h.source_port != 666

pipy().listen('127.0.0.1:%d').accept_proxy_protocol(on_header).to(
    lambda p: p.serve_http(lambda req: Message('%%s %%s\\n' %% (ctx.inbound.remote_address, req.head.path))))
''' % port, port=port, args=FAST_STOP)
    with socket.create_connection(('127.0.0.1', port), timeout=5) as s:
        s.sendall(encode_proxy_header(1, ('203.0.113.9', 1111), ('10.0.0.1', 80)) +
                  b'GET /a HTTP/1.1\r\nHost: x\r\n\r\n')             # sent while on_header is still running
        first = s.recv(65536)
        s.sendall(b'GET /b HTTP/1.1\r\nHost: x\r\n\r\n')
        second = s.recv(65536)
    assert first.startswith(b'HTTP/1.1 200') and first.endswith(b'203.0.113.9 /a\n'), first
    assert second.endswith(b'203.0.113.9 /b\n'), second
    assert raw_exchange(port, encode_proxy_header(1, ('203.0.113.9', 666), ('10.0.0.1', 80)) + REQUEST) == b''
    wait_for(lambda: warnings(p), 3.0, 'a log line')
    assert len(warnings(p)) == 1 and 'refused by on_header' in warnings(p)[0]


def test_a_slow_answer_behind_the_header_is_not_idle(run_pipyx):
    # the listener asks the first filter whether the quiet connection is busy: it answers for its HTTP server
    port = free_port()
    run_pipyx('''
import asyncio
from pipyx import pipy, Message

async def slow(req):
    await asyncio.sleep(1.2)
    return Message('late but here\\n')

pipy().listen('127.0.0.1:%d', idle_timeout=0.3).accept_proxy_protocol().to(lambda p: p.serve_http(slow))
''' % port, port=port, args=FAST_STOP)
    out = raw_exchange(port, encode_proxy_header(1, ('10.1.1.1', 5), ('10.0.0.1', 80)) + REQUEST)
    assert out.startswith(b'HTTP/1.1 200') and out.endswith(b'late but here\n'), out
