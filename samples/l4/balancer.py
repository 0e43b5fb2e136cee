"""A TCP or UDP load balancer, configured by environment.

    PORT=8000 TARGETS=10.0.0.7:80,10.0.0.8:80 pipyx samples/l4/balancer.py

PORT            where to listen ('8000', or 'ip:port')
TARGETS         comma separated host:port targets (required)
PROTOCOL        tcp (default) or udp
PROXY_PROTOCOL  off (default), v1 or v2: a PROXY protocol header toward the targets, carrying the client's address
                (UDP: v2 only, in front of the first datagram)
ALGO            round-robin (default), least-connections, or hash (by client address: a client keeps its target)
RETRIES         TCP: how many other targets a stream tries when one refuses or does not answer (default: all of them)
CONNECT_TIMEOUT seconds before a silent target counts as failed (default 3)
IDLE_TIMEOUT    seconds without traffic before a TCP connection or a UDP client's stream ends (default 300 / 60)
"""
import os
import sys

from pipyx import algo, pipy

PORT = os.environ.get('PORT', '8000')
PROTOCOL = os.environ.get('PROTOCOL', 'tcp').lower()
PROXY_PROTOCOL = os.environ.get('PROXY_PROTOCOL', 'off').lower()
ALGO = os.environ.get('ALGO', 'round-robin').lower()
TARGETS = [t.strip() for t in os.environ.get('TARGETS', '').split(',') if t.strip()]
CONNECT_TIMEOUT = float(os.environ.get('CONNECT_TIMEOUT', '3'))

BALANCERS = {
    'round-robin': algo.RoundRobinLoadBalancer,
    'least-connections': algo.LeastWorkLoadBalancer,
    'hash': algo.HashingLoadBalancer,
}


def settings_error(text):
    sys.exit('samples/l4/balancer.py: %s' % text)


if not TARGETS:
    settings_error('TARGETS is required: comma separated host:port')
if PROTOCOL not in ('tcp', 'udp'):
    settings_error("PROTOCOL is tcp or udp, not %r" % PROTOCOL)
if PROXY_PROTOCOL not in ('off', 'v1', 'v2'):
    settings_error("PROXY_PROTOCOL is off, v1 or v2, not %r" % PROXY_PROTOCOL)
if PROTOCOL == 'udp' and PROXY_PROTOCOL == 'v1':
    settings_error('PROXY protocol v1 has no UDP: use v2')
if ALGO not in BALANCERS:
    settings_error('ALGO is one of %s, not %r' % (', '.join(BALANCERS), ALGO))

targets = BALANCERS[ALGO](TARGETS)

if PROTOCOL == 'tcp':
    idle = float(os.environ.get('IDLE_TIMEOUT', '300'))
    retries = int(os.environ.get('RETRIES', str(len(TARGETS) - 1)))

    def upstream(p):
        return p.connect(targets, connect_timeout=CONNECT_TIMEOUT, idle_timeout=idle, read_timeout=0,
                         retry_count=retries)
    listener = pipy().listen(PORT, idle_timeout=idle)
else:
    idle = float(os.environ.get('IDLE_TIMEOUT', '60'))

    def upstream(p):
        return p.connect(targets, protocol='udp', connect_timeout=CONNECT_TIMEOUT, idle_timeout=idle)
    listener = pipy().listen(PORT, protocol='udp', idle_timeout=idle)

if PROXY_PROTOCOL == 'off':
    upstream(listener)
else:
    listener.connect_proxy_protocol(int(PROXY_PROTOCOL[1])).to(upstream)
