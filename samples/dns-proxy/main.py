"""A caching DNS proxy: UDP and TCP on one port, upstreams with failover, a TTL-honouring cache bounded by entries,
negative caching, blocked names and rewritten names.

    PORT=5353 UPSTREAMS=1.1.1.1:53,8.8.8.8:53 pipyx samples/dns-proxy/main.py

Every option is an environment variable; README.md says what each does. The cached path answers from the stored
wire bytes, with the asker's id and the TTLs counted down patched in: no record is parsed to answer from cache.
"""
import logging
import os
import time
from collections import OrderedDict

from pipyx import Message, pipy
from pipyx.dns import DnsMessage, DnsRecord, ResolveError, Resolver, dns_reanswer, dns_truncated

PORT = os.environ.get('PORT', '5353')
LISTEN = PORT if ':' in PORT else '0.0.0.0:%s' % PORT
UPSTREAMS = os.environ.get('UPSTREAMS', '127.0.0.1:53')
TIMEOUT = float(os.environ.get('TIMEOUT', '2'))
CACHE_SIZE = int(os.environ.get('CACHE_SIZE', '10000'))
MAX_TTL = int(os.environ.get('MAX_TTL', '86400'))
BLOCK = os.environ.get('BLOCK', '')
REWRITE = os.environ.get('REWRITE', '')
LOCAL_TTL = int(os.environ.get('LOCAL_TTL', '60'))
MAX_PEERS = int(os.environ.get('MAX_PEERS', '10000'))
PEER_IDLE = float(os.environ.get('PEER_IDLE', '10'))

log = logging.getLogger('dns-proxy')
resolver = Resolver(UPSTREAMS, timeout=TIMEOUT)


def read_lines(path):
    if not path:
        return []
    with open(path) as f:
        return [line.split('#', 1)[0].split() for line in f if line.split('#', 1)[0].strip()]


blocked = {fields[0].rstrip('.').lower() for fields in read_lines(BLOCK)}
rewrites = {fields[0].rstrip('.').lower(): fields[1].rstrip('.') for fields in read_lines(REWRITE) if len(fields) > 1}

# cache_key -> (answer wire bytes, where its TTLs are, stored at, expires at); oldest use first.
cache = OrderedDict()


def is_blocked(name):
    # The name itself or any domain above it.
    while name:
        if name in blocked:
            return True
        name = name.partition('.')[2]
    return False


def fit(wire, query):
    # Over UDP an answer longer than the asker takes goes out truncated: the TC bit sends it to TCP.
    if not query.tcp and len(wire) > query.payload_size:
        wire = dns_truncated(wire)
    return Message(wire)


def answer(msg):
    query = msg.head
    if query.qr or query.opcode or query.qtype is None:
        return Message(query.reply(rcode='NOTIMP' if query.opcode else 'FORMERR'))
    if blocked or rewrites:
        name = query.qname
        if blocked and is_blocked(name):
            return Message(query.reply(rcode='NXDOMAIN'))
        if name in rewrites:
            return rewritten(query, rewrites[name])
    key = query.cache_key
    entry = cache.get(key)
    if entry is not None:
        now = time.monotonic()
        if now < entry[3]:
            cache.move_to_end(key)
            return fit(dns_reanswer(entry[0], entry[1], query, int(now - entry[2])), query)
        del cache[key]
    return forward(query, key)


async def forward(query, key):
    try:
        reply = await resolver.query(query)
    except ResolveError as e:
        log.warning('%s %s: %s', query.qname, query.qtype, e)
        return Message(query.reply(rcode='SERVFAIL'))
    if reply.rcode in (0, 3) and not reply.tc:
        ttl = reply.min_ttl()
        if ttl and CACHE_SIZE > 0:
            wire = reply.to_bytes()
            now = time.monotonic()
            cache[key] = (wire, reply.ttl_offsets(), now, now + min(ttl, MAX_TTL))
            if len(cache) > CACHE_SIZE:
                cache.popitem(last=False)
    return fit(reply.to_bytes(), query)


async def rewritten(query, target):
    # A CNAME to the target, and what the target resolves to (an address target answers A or AAAA itself).
    name, qtype = query.question.name, query.question.type
    records = []
    if target.replace('.', '').isdigit() or ':' in target:
        kind = 28 if ':' in target else 1
        if qtype == kind:
            records.append(DnsRecord(name, kind, LOCAL_TTL, target))
        return fit(query.reply(answers=records).to_bytes(), query)
    records.append(DnsRecord(name, 'CNAME', LOCAL_TTL, target))
    try:
        reply = await resolver.query(DnsMessage.query(target, qtype, rd=True))
        records += reply.answers
    except ResolveError as e:
        log.warning('%s -> %s: %s', name, target, e)
    return fit(query.reply(answers=records).to_bytes(), query)


def serve(p):
    # Each query runs in its own sub-pipeline, so the ones that go upstream wait together; the answers to one
    # client leave in the order it asked.
    return p.decode_dns().demux(max_queue=1024).to(lambda p: p.replace_message(answer)).encode_dns()


app = pipy()
serve(app.listen(LISTEN, protocol='udp', max_peers=MAX_PEERS, idle_timeout=PEER_IDLE))
serve(app.listen(LISTEN, idle_timeout=PEER_IDLE))
