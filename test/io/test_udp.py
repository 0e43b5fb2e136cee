"""UDP: listen(port, protocol='udp') and connect(target, protocol='udp') with real peers: a UDP relay in front of an
echo server and a DNS responder (dig through it), socat as a client; datagrams never merged or split, idle peers
ended, a flood of new source addresses bounded by max_peers with one log line, reload keeping the socket."""
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from test.helpers import FAST_STOP, free_port, lacks, no_traceback, wait_for
from test.io.udp_peers import ask, wait_udp

PEERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'udp_peers.py')

RELAY = '''
from pipyx import pipy
pipy().listen('127.0.0.1:%(port)d', protocol='udp'%(listen_opts)s).connect('127.0.0.1:%(up)d', protocol='udp')
'''


def udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def start_peer(processes, mode):
    port = udp_port()
    processes.start([sys.executable, PEERS, mode, port], name='udp-' + mode)
    if mode == 'echo':
        wait_udp(port)
    return port


def relay(run_pipyx, processes, mode='echo', listen_opts=''):
    up = start_peer(processes, mode)
    port = udp_port()
    p = run_pipyx(RELAY % {'port': port, 'up': up, 'listen_opts': listen_opts}, args=FAST_STOP)
    wait_udp(port, data=b'port?' if mode == 'echo' else DNS_QUERY)
    return port, p


DNS_QUERY = bytes.fromhex('abcd01000001000000000000') + b'\x07example\x04test\x00\x00\x01\x00\x01'


def test_datagrams_are_never_merged_or_split(run_pipyx, processes):
    port, p = relay(run_pipyx, processes)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        sizes = [1, 7, 512, 1400, 9000, 60000, 3]
        for n in sizes:                                        # all sent before any is read
            s.sendto(bytes([n % 251]) * n, ('127.0.0.1', port))
        got = [s.recvfrom(65535)[0] for _ in sizes]
    assert sorted(len(g) for g in got) == sorted(sizes)
    assert all(g == bytes([len(g) % 251]) * len(g) for g in got)
    no_traceback(p.log())


def test_each_peer_is_its_own_stream(run_pipyx, processes):
    port, p = relay(run_pipyx, processes)
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with a, b:
        pa1, pb1 = ask(port, b'port?', sock=a), ask(port, b'port?', sock=b)
        pa2 = ask(port, b'port?', sock=a)
    assert pa1 == pa2 and pa1 != pb1                           # one upstream socket per peer, kept between datagrams


def test_idle_peer_is_ended_and_a_new_stream_begins(run_pipyx, processes):
    port, p = relay(run_pipyx, processes, listen_opts=', idle_timeout=0.4')
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        first = ask(port, b'port?', sock=s)
        assert ask(port, b'port?', sock=s) == first
        time.sleep(1.0)                                        # silent for longer than idle_timeout
        assert ask(port, b'port?', sock=s) != first            # its stream ended; a new one has a new socket


@pytest.mark.skipif(lacks('dig'), reason='dig is not installed')
def test_dig_through_the_relay(run_pipyx, processes):
    port, p = relay(run_pipyx, processes, mode='dns')
    out = subprocess.run(['dig', '@127.0.0.1', '-p', str(port), 'example.test', 'A', '+short', '+tries=1',
                          '+time=2'], capture_output=True, timeout=10)
    assert out.stdout.decode().strip() == '192.0.2.1', out


@pytest.mark.skipif(lacks('socat'), reason='socat is not installed')
def test_socat_client(run_pipyx, processes):
    port, p = relay(run_pipyx, processes)
    out = subprocess.run(['socat', '-t', '1', '-T', '2', '-', 'UDP:127.0.0.1:%d' % port], input=b'hello over udp\n',
                         capture_output=True, timeout=10)
    assert out.stdout == b'hello over udp\n', out


def test_a_flood_of_new_peers_is_bounded_by_max_peers(run_pipyx, processes):
    up = start_peer(processes, 'echo')
    port, ready = udp_port(), free_port()
    p = run_pipyx(RELAY % {'port': port, 'up': up, 'listen_opts': ', max_peers=3, idle_timeout=30'} + """
from pipyx import Message
pipy().listen('127.0.0.1:%d').serve_http(Message('ready'))
""" % ready, port=ready, args=FAST_STOP)
    kept = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(3)]
    flood = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(40)]
    try:
        assert all(ask(port, b'port?', sock=s) for s in kept)
        answered = [ask(port, b'hi', 0.05, sock=s) for s in flood]
        assert answered == [None] * 40                         # new peers beyond the cap are dropped
        assert all(ask(port, b'still here', sock=s) == b'still here' for s in kept)     # the others undisturbed
    finally:
        for s in kept + flood:
            s.close()
    wait_for(lambda: 'dropped' in p.log(), 3.0, 'the log line')
    lines = [line for line in p.log().splitlines() if 'datagrams from new peers are dropped' in line]
    assert len(lines) == 1, p.log()
    assert '3 peers' in lines[0]


def test_reload_keeps_the_socket_and_switches_the_layout(run_pipyx, processes, tmp_path):
    up = start_peer(processes, 'echo')
    port = udp_port()
    script = tmp_path / 'udp-main.py'
    script.write_text('''
from pipyx import pipy, Message
pipy().listen('127.0.0.1:%d', protocol='udp').replace_message(lambda m: Message(b'one:' + m.body.to_bytes()))
''' % port)
    p = run_pipyx(path=script, args=FAST_STOP)
    wait_udp(port)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        assert ask(port, b'x', sock=s) == b'one:x'
        script.write_text('''
from pipyx import pipy, Message
pipy().listen('127.0.0.1:%d', protocol='udp').replace_message(lambda m: Message(b'two:' + m.body.to_bytes()))
''' % port)
        p.signal(signal.SIGHUP)
        # a new peer gets the new version (each try from a new address: a peer keeps the stream it began with)
        wait_for(lambda: ask(port, b'y', 0.2) == b'two:y', 5.0, 'the new version to answer')
        assert ask(port, b'z', sock=s) == b'one:z'             # a stream that began before goes on as it was
    assert 'reloaded' in p.log() and 'failed' not in p.log()


def test_udp_and_tcp_on_the_same_port_number(run_pipyx):
    port = free_port()
    p = run_pipyx('''
from pipyx import pipy, Message
pipy().listen('127.0.0.1:%d', protocol='udp').replace_message(lambda m: Message(b'udp'))
pipy().listen('127.0.0.1:%d').serve_http(Message('tcp'))
''' % (port, port), port=port, args=FAST_STOP)
    wait_udp(port)
    assert ask(port, b'?') == b'udp'
    assert 'listening on 127.0.0.1:%d/udp' % port in p.log()


def test_connect_udp_to_a_closed_port_ends_the_stream(run_pipyx):
    port = udp_port()
    closed = udp_port()
    p = run_pipyx(RELAY % {'port': port, 'up': closed, 'listen_opts': ''}, args=FAST_STOP)
    wait_for(lambda: 'listening' in p.log(), 10.0, 'pipyx to listen')
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _ in range(3):
            assert ask(port, b'anyone?', 0.3, sock=s) is None
    wait_for(lambda: 'ConnectionRefused' in p.log(), 3.0, 'the refusal to be logged')
    no_traceback(p.log())


def test_an_unknown_protocol_is_a_load_error_with_its_line(run_pipyx):
    p = run_pipyx('''
from pipyx import pipy

pipy().listen(9, protocol='sctp').connect('127.0.0.1:9')
''')
    assert p.wait(15) != 0
    assert "main-0.py:4: listen(): protocol is 'tcp' or 'udp', not 'sctp'" in p.log(), p.log()


def test_pipyx_inbound_lists_connections_not_udp_peers(run_pipyx):
    port = udp_port()
    p = run_pipyx('''
from pipyx import pipy, Message, inbound
pipy().listen('127.0.0.1:%d', protocol='udp').replace_message(lambda m: Message(str(len(inbound()))))
''' % port, args=FAST_STOP)
    wait_for(lambda: 'listening' in p.log(), 10.0, 'pipyx to listen')
    assert ask(port, b'?', 2.0) == b'0'
    no_traceback(p.log())


def test_pipyx_outbound_lists_udp_sockets_with_their_bytes(run_pipyx, processes):
    up = start_peer(processes, 'echo')
    port, listing_port = udp_port(), udp_port()
    p = run_pipyx('''
from pipyx import pipy, Message, outbound
def listing(m):
    return Message(' '.join('%%s:%%s:%%s:%%s' %% (c.protocol, c.remote_port, c.bytes_in, c.bytes_out)
                            for c in outbound()))
pipy().listen('127.0.0.1:%d', protocol='udp').connect('127.0.0.1:%d', protocol='udp')
pipy().listen('127.0.0.1:%d', protocol='udp').replace_message(listing)
''' % (port, up, listing_port), args=FAST_STOP)
    wait_udp(port, data=b'hello')                              # 5 bytes out, 5 back: the echo
    entries = ask(listing_port, b'?', 2.0).decode().split()
    assert entries and all(e == 'udp:%d:5:5' % up for e in entries), entries
    no_traceback(p.log())


def test_empty_datagrams_pass_both_ways(run_pipyx, processes):
    # The event loop would drop an empty send without a word: pipyx sends them itself, to the upstream and back.
    port, p = relay(run_pipyx, processes)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        s.sendto(b'', ('127.0.0.1', port))
        assert s.recvfrom(100)[0] == b''
        s.sendto(b'after', ('127.0.0.1', port))
        assert s.recvfrom(100)[0] == b'after'
