"""Step 16: a DNS server that answers some names itself, by where the client is, refuses others, and forwards the
rest to an upstream, over UDP and TCP."""
import ipaddress
import os

from pipyx import Message, ctx, pipy
from pipyx.dns import DnsRecord, ResolveError, Resolver

PORT = os.environ.get('PORT', '5300')
UPSTREAM = os.environ.get('UPSTREAM', '127.0.0.1:53')

resolver = Resolver(UPSTREAM, timeout=1)

BLOCKED = {'ads.example'}

# name -> [(client network, address to give)]: the first network holding the client wins.
SITES = {
    'app.example': [(ipaddress.ip_network('10.0.0.0/8'), '192.0.2.10'),
                    (ipaddress.ip_network('0.0.0.0/0'), '198.51.100.10')],
}


def blocked(name):
    return any(name == b or name.endswith('.' + b) for b in BLOCKED)


def site_address(query):
    # The client's subnet as its resolver passed it on (EDNS client subnet), else the address it asks from.
    subnet = query.client_subnet
    client = ipaddress.ip_address(subnet[0] if subnet else ctx.inbound.remote_address)
    for network, address in SITES[query.qname]:
        if client.version == network.version and client in network:
            return address


def answer(msg):
    query = msg.head
    name = query.qname
    if blocked(name):
        return Message(query.reply(rcode='NXDOMAIN'))
    if name in SITES:
        records = []
        if query.qtype == 1:
            address = site_address(query)
            if address:
                records.append(DnsRecord(query.question.name, 'A', 30, address))
        return Message(query.reply(answers=records, aa=True))
    return forward(query)


async def forward(query):
    try:
        return Message(await resolver.query(query))
    except ResolveError:
        return Message(query.reply(rcode='SERVFAIL'))


def serve(p):
    return p.decode_dns().demux().to(lambda p: p.replace_message(answer)).encode_dns()


app = pipy()
serve(app.listen('127.0.0.1:%s' % PORT, protocol='udp'))
serve(app.listen('127.0.0.1:%s' % PORT))
