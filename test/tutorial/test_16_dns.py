"""Step 16 of the tutorial (tutorial/16-dns): the answers its README shows, with dig and a dnslib upstream."""
import os
import subprocess
import sys

import dns.message
import dns.query
import dns.rcode
import pytest

from test.helpers import ROOT, free_port, lacks, no_traceback

STEP = os.path.join(ROOT, 'tutorial', '16-dns', 'main.py')
UPSTREAM = os.path.join(ROOT, 'test', 'samples', 'dns_upstream.py')


@pytest.mark.skipif(lacks('dig'), reason='dig')
def test_16_dns(processes, run_pipyx):
    up = free_port()
    processes.start([sys.executable, UPSTREAM, up], port=up, name='dns-upstream')
    port = free_port()
    p = run_pipyx(path=STEP, port=port, env={'PORT': str(port), 'UPSTREAM': '127.0.0.1:%d' % up})

    def dig(*args):
        return subprocess.run(['dig', '@127.0.0.1', '-p', str(port), '+time=3', '+tries=1'] + list(args),
                              capture_output=True, text=True, timeout=15).stdout

    assert dig('app.example', '+short').strip() == '198.51.100.10'
    assert dig('app.example', '+short', '+subnet=10.1.0.0/16').strip() == '192.0.2.10'
    assert 'status: NXDOMAIN' in dig('x.ads.example')
    assert dig('example.com', '+short', '+tcp').strip().startswith('10.0.')
    r = dns.query.udp(dns.message.make_query('app.example', 'AAAA'), '127.0.0.1', port=port, timeout=3)
    assert r.rcode() == dns.rcode.NOERROR and not r.answer
    no_traceback(p.log())
