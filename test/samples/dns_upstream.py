"""A DNS server for the dns-proxy tests, on UDP and TCP (dnslib's server):

    python3 dns_upstream.py PORT

- NAME.ttlN.test A: 10.0.X.Y with TTL N, where X.Y counts the queries this server has answered (so a test can tell
  an answer from cache from a fresh one);
- NAME.nx.test: NXDOMAIN with an SOA of TTL 300 and minimum 2 (negative caching);
- big.test TXT: 30 TXT records of 100 bytes (over 512: truncated over UDP without EDNS);
- anything else: A 10.0.X.Y, TTL 300.
"""
import sys
import threading
import time

from dnslib import QTYPE, RCODE, RR, SOA, TXT, A
from dnslib.server import BaseResolver, DNSLogger, DNSServer


class Resolver(BaseResolver):
    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()

    def resolve(self, request, handler):
        with self.lock:
            self.count += 1
            n = self.count
        reply = request.reply()
        name = str(request.q.qname).rstrip('.').lower()
        if name.endswith('.nx.test'):
            reply.header.rcode = RCODE.NXDOMAIN
            reply.add_auth(RR('nx.test', QTYPE.SOA, ttl=300, rdata=SOA('ns.nx.test', 'admin.nx.test',
                                                                          (1, 60, 60, 60, 2))))
        elif name == 'big.test' and request.q.qtype == QTYPE.TXT:
            for i in range(30):
                reply.add_answer(RR('big.test', QTYPE.TXT, ttl=300, rdata=TXT('%02d' % i + 'x' * 98)))
        elif request.q.qtype == QTYPE.A:
            ttl = 300
            for label in name.split('.'):
                if label.startswith('ttl') and label[3:].isdigit():
                    ttl = int(label[3:])
            reply.add_answer(RR(request.q.qname, QTYPE.A, ttl=ttl, rdata=A('10.0.%d.%d' % (n // 256 % 256, n % 256))))
        return reply


if __name__ == '__main__':
    port = int(sys.argv[1])
    resolver = Resolver()
    servers = [DNSServer(resolver, address="127.0.0.1", port=port, tcp=tcp, logger=DNSLogger(logf=lambda s: None)) for tcp in (False, True)]
    for s in servers:
        s.start_thread()
    print('ready', flush=True)
    while all(s.isAlive() for s in servers):
        time.sleep(0.2)
