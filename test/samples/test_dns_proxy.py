"""End-to-end tests of samples/dns-proxy with real peers: a dnslib upstream that numbers its answers (so a cached
answer tells itself apart from a fresh one), dnsmasq as an upstream, dig, dnspython and dnslib as clients. TTLs count
down and expire, NXDOMAIN is cached for the SOA minimum, a dead first upstream is skipped, big answers go truncated
over UDP and whole over TCP, blocked and rewritten names, garbage and a flood of source ports."""
import os
import socket
import subprocess
import sys
import time

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dnslib
import pytest

from test.helpers import ROOT, alive, free_port, lacks, no_traceback, wait_for

SAMPLE = os.path.join(ROOT, 'samples', 'dns-proxy', 'main.py')
UPSTREAM = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'dns_upstream.py')


def start_upstream(processes):
    port = free_port()
    processes.start([sys.executable, UPSTREAM, port], port=port, name='dns-upstream')
    return port


def start_proxy(processes, upstreams, **env):
    port = free_port()
    env = dict({'PORT': '127.0.0.1:%d' % port, 'UPSTREAMS': ','.join(upstreams), 'TIMEOUT': '0.5'},
               **{k: str(v) for k, v in env.items()})
    p = processes.pipyx([SAMPLE], port=port, env=env)
    return port, p


def ask(port, name, kind='A', tcp=False, **kw):
    q = dns.message.make_query(name, kind, **kw)
    return (dns.query.tcp if tcp else dns.query.udp)(q, '127.0.0.1', port=port, timeout=3)


def answered(port, name):
    try:
        return ask(port, name).rcode() == dns.rcode.NOERROR
    except dns.exception.Timeout:
        return False


def address(answer):
    return answer.answer[0][0].address


@pytest.fixture
def upstream(processes):
    return start_upstream(processes)


def test_answers_come_from_cache_with_ttls_counting_down(processes, upstream):
    port, p = start_proxy(processes, ['127.0.0.1:%d' % upstream])
    first = ask(port, 'www.ttl30.test')
    assert first.rcode() == dns.rcode.NOERROR and first.answer[0].ttl == 30
    time.sleep(1.2)
    again = ask(port, 'WWW.Ttl30.TEST')                    # the same question in other letters: from cache
    assert address(again) == address(first)
    assert 27 <= again.answer[0].ttl <= 29
    assert str(again.question[0].name) == 'WWW.Ttl30.TEST.'  # the asker's own letters come back
    assert address(ask(port, 'other.ttl30.test')) != address(first)
    # queries with and without EDNS0 have entries of their own (an answer with an OPT record is not for the latter)
    with_edns = address(ask(port, 'edns.ttl30.test', use_edns=0))
    assert address(ask(port, 'edns.ttl30.test')) != with_edns
    assert address(ask(port, 'edns.ttl30.test', use_edns=0)) == with_edns
    no_traceback(p.log())


def test_an_expired_answer_is_asked_again(processes, upstream):
    port, _ = start_proxy(processes, ['127.0.0.1:%d' % upstream])
    first = address(ask(port, 'short.ttl1.test'))
    assert address(ask(port, 'short.ttl1.test')) == first
    time.sleep(1.3)
    assert address(ask(port, 'short.ttl1.test')) != first


def test_nxdomain_is_cached_for_the_soa_minimum(processes, upstream):
    port, _ = start_proxy(processes, ['127.0.0.1:%d' % upstream])
    assert ask(port, 'gone.nx.test').rcode() == dns.rcode.NXDOMAIN
    assert ask(port, 'gone.nx.test').rcode() == dns.rcode.NXDOMAIN
    assert address(ask(port, 'probe1.test')) == '10.0.0.2'        # the upstream was asked once for gone.nx.test
    time.sleep(2.3)
    assert ask(port, 'gone.nx.test').rcode() == dns.rcode.NXDOMAIN
    assert address(ask(port, 'probe2.test')) == '10.0.0.4'


def test_a_dead_first_upstream_is_skipped_after_the_timeout(processes, upstream):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as hole:     # takes queries, never answers
        hole.bind(('127.0.0.1', 0))
        port, _ = start_proxy(processes, ['127.0.0.1:%d' % hole.getsockname()[1], '127.0.0.1:%d' % upstream])
        t = time.monotonic()
        r = ask(port, 'failover.test')
        assert r.rcode() == dns.rcode.NOERROR and address(r).startswith('10.0.')
        assert time.monotonic() - t < 2.5


def test_no_upstream_answering_gives_servfail(processes):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as hole:
        hole.bind(('127.0.0.1', 0))
        port, p = start_proxy(processes, ['127.0.0.1:%d' % hole.getsockname()[1]])
        assert ask(port, 'nobody.test').rcode() == dns.rcode.SERVFAIL
    no_traceback(p.log())


def test_a_big_answer_is_truncated_over_udp_and_whole_over_tcp(processes, upstream):
    port, _ = start_proxy(processes, ['127.0.0.1:%d' % upstream])
    udp = ask(port, 'big.test', 'TXT')                     # no EDNS: 512 bytes at most
    assert udp.flags & dns.flags.TC and not udp.answer
    tcp = ask(port, 'big.test', 'TXT', tcp=True)
    assert len(tcp.answer[0]) == 30
    roomy = ask(port, 'big.test', 'TXT', use_edns=0, payload=4096)
    assert not roomy.flags & dns.flags.TC and len(roomy.answer[0]) == 30


@pytest.mark.skipif(lacks('dnsmasq') or lacks('dig'), reason='dnsmasq and dig')
def test_dig_through_the_proxy_to_dnsmasq(processes, tmp_path):
    up = free_port()
    txt = ','.join(['x' * 200] * 4)
    processes.start(['dnsmasq', '--no-daemon', '-u', 'root', '--port', up, '--listen-address=127.0.0.1',
                     '--bind-interfaces', '--no-resolv', '--no-hosts', '--local-ttl=60', '--pid-file=',
                     '--address=/example.test/192.0.2.10', '--txt-record=big.example.test,' + txt],
                    port=up, name='dnsmasq')
    port, p = start_proxy(processes, ['127.0.0.1:%d' % up])

    def dig(*args):
        out = subprocess.run(['dig', '@127.0.0.1', '-p', str(port), '+time=3', '+tries=1'] + list(args),
                             capture_output=True, text=True, timeout=20).stdout
        return out
    assert '192.0.2.10' in dig('www.example.test', '+short')
    assert '192.0.2.10' in dig('www.example.test', '+short', '+tcp')
    assert '192.0.2.10' in dig('sub.example.test', '+short', '+subnet=198.51.100.0/24')
    cut = dig('big.example.test', 'TXT', '+bufsize=512', '+ignore')
    assert ' tc' in cut.split('flags:')[1].split(';')[0]
    whole = dig('big.example.test', 'TXT', '+bufsize=512')       # dig retries over TCP by itself
    assert whole.count('"' + 'x' * 200 + '"') == 4
    no_traceback(p.log())


def test_blocked_and_rewritten_names(processes, upstream, tmp_path):
    block = tmp_path / 'block.txt'
    block.write_text('# ads\nads.test\ntracker.example.\n')
    rewrite = tmp_path / 'rewrite.txt'
    rewrite.write_text('alias.test real.ttl300.test\nfixed.test 192.0.2.55\n')
    port, _ = start_proxy(processes, ['127.0.0.1:%d' % upstream], BLOCK=block, REWRITE=rewrite)
    assert ask(port, 'ads.test').rcode() == dns.rcode.NXDOMAIN
    assert ask(port, 'x.y.ads.test').rcode() == dns.rcode.NXDOMAIN
    assert ask(port, 'tracker.example').rcode() == dns.rcode.NXDOMAIN
    assert ask(port, 'notads.test').rcode() == dns.rcode.NOERROR
    r = dnslib.DNSRecord.parse(dnslib.DNSRecord.question('alias.test', 'A').send('127.0.0.1', port, timeout=3))
    assert [(str(rr.rname), dnslib.QTYPE[rr.rtype], str(rr.rdata)) for rr in r.rr][0] == (
        'alias.test.', 'CNAME', 'real.ttl300.test.')
    assert dnslib.QTYPE[r.rr[1].rtype] == 'A' and str(r.rr[1].rname) == 'real.ttl300.test.'
    assert address(ask(port, 'fixed.test')) == '192.0.2.55'


def test_garbage_is_dropped_with_one_line_and_a_port_flood_stays_bounded(processes, upstream):
    port, p = start_proxy(processes, ['127.0.0.1:%d' % upstream], MAX_PEERS=50, PEER_IDLE=1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for junk in (b'\x00', b'\xab\xcd\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01',
                     os.urandom(40)):
            s.sendto(junk, ('127.0.0.1', port))
    assert ask(port, 'after.garbage.test').rcode() == dns.rcode.NOERROR
    query = dnslib.DNSRecord.question('flood.test', 'A').pack()
    socks = []
    try:
        for _ in range(200):                                 # 200 source ports, 50 served at once
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.sendto(query, ('127.0.0.1', port))
            socks.append(s)
    finally:
        for s in socks:
            s.close()
    assert alive(p.proc.pid)
    assert wait_for(lambda: answered(port, 'after.flood.test'), timeout=8)
    log = p.log()
    assert log.count('decode_dns') == 1, log
    no_traceback(log)


def test_the_cache_keeps_at_most_cache_size_answers(processes, upstream):
    port, _ = start_proxy(processes, ['127.0.0.1:%d' % upstream], CACHE_SIZE=5)
    first = {i: address(ask(port, 'n%d.many.test' % i)) for i in range(10)}
    assert address(ask(port, 'n9.many.test')) == first[9]          # among the 5 most recent: from cache
    assert address(ask(port, 'n0.many.test')) != first[0]          # pushed out by the 5 after it: asked again
