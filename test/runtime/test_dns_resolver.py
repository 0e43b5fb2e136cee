"""pipyx.dns.Resolver over real sockets on 127.0.0.1, against upstreams played by the test: answers matched by id and
question (forged ones ignored), the next upstream on SERVFAIL, on silence and on a closed port, TCP after a
truncated answer, resolve() and its errors."""
import asyncio
import socket

import dnslib
import pytest

from pipyx.dns import DnsMessage, ResolveError, Resolver


class Upstream(asyncio.DatagramProtocol):
    """Answers each query with what behave(request) returns: a list of dnslib records (or bytes) to send."""

    def __init__(self, behave):
        self.behave = behave
        self.queries = []

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        request = dnslib.DNSRecord.parse(data)
        self.queries.append(request)
        for reply in self.behave(request):
            self.transport.sendto(reply if isinstance(reply, bytes) else reply.pack(), addr)


async def start(behave, port=0):
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(lambda: Upstream(behave), local_addr=('127.0.0.1', port))
    return '127.0.0.1:%d' % transport.get_extra_info('sockname')[1], proto, transport


def a_record(request, address='192.0.2.1'):
    reply = request.reply()
    reply.add_answer(dnslib.RR(request.q.qname, dnslib.QTYPE.A, rdata=dnslib.A(address), ttl=60))
    return reply


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


def test_forged_answers_are_ignored_and_the_real_one_taken():
    async def main():
        def behave(request):
            wrong_id = a_record(request, '203.0.113.66')
            wrong_id.header.id = (request.header.id + 1) % 65536
            wrong_question = dnslib.DNSRecord.question('evil.example').reply()
            wrong_question.header.id = request.header.id
            return [wrong_id, wrong_question, b'\x00garbage', a_record(request)]
        addr, proto, transport = await start(behave)
        resolver = Resolver([addr], timeout=2)
        query = DnsMessage.query('www.example', 'A', id=1234)
        answer = await resolver.query(query)
        assert answer.id == 1234 and [r.data for r in answer.answers] == ['192.0.2.1']
        for _ in range(20):
            await resolver.resolve('x.example')
        ids = {q.header.id for q in proto.queries}
        assert len(ids) > 15                                    # random, not counted up from the query's
        resolver.close()
        transport.close()
    run(main())


def test_servfail_silence_and_a_closed_port_move_on_to_the_next_upstream():
    async def main():
        servfail, p1, t1 = await start(lambda r: [_rcode(r, 2)])
        silent, p2, t2 = await start(lambda r: [])
        good, p3, t3 = await start(lambda r: [a_record(r)])
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(('127.0.0.1', 0))
            closed = '127.0.0.1:%d' % s.getsockname()[1]
        resolver = Resolver([closed, servfail, silent, good], timeout=0.3)
        assert await resolver.resolve('www.example') == ['192.0.2.1']
        assert len(p1.queries) == 1 and len(p2.queries) == 1
        only_bad = Resolver([servfail], timeout=0.3)
        assert (await only_bad.query(DnsMessage.query('a.example'))).rcode == 2
        with pytest.raises(ResolveError) as e:
            await only_bad.resolve('a.example')
        assert e.value.error == 'SERVFAIL'
        nobody = Resolver([silent], timeout=0.2)
        with pytest.raises(ResolveError) as e:
            await nobody.query(DnsMessage.query('a.example'))
        assert e.value.error == 'Timeout'
        for r in (resolver, only_bad, nobody):
            r.close()
        for t in (t1, t2, t3):
            t.close()
    run(main())


def _rcode(request, rcode):
    reply = request.reply()
    reply.header.rcode = rcode
    return reply


def test_a_truncated_answer_is_asked_again_over_tcp():
    async def main():
        def truncated(request):
            reply = request.reply()
            reply.header.tc = 1
            return [reply]

        async def tcp_answer(reader, writer):
            size = int.from_bytes(await reader.readexactly(2), 'big')
            request = dnslib.DNSRecord.parse(await reader.readexactly(size))
            reply = request.reply()
            for i in range(40):
                reply.add_answer(dnslib.RR(request.q.qname, dnslib.QTYPE.TXT, rdata=dnslib.TXT('%02d' % i + 'x' * 90)))
            wire = reply.pack()
            writer.write(len(wire).to_bytes(2, 'big') + wire)
            await writer.drain()
            writer.close()
        # the TCP port first (a free UDP port of the same number is likelier than the other way round)
        server = await asyncio.start_server(tcp_answer, '127.0.0.1', 0)
        addr, proto, transport = await start(truncated, server.sockets[0].getsockname()[1])
        resolver = Resolver([addr], timeout=1)
        texts = await resolver.resolve('big.example', 'TXT')
        assert len(texts) == 40 and texts[0] == [b'00' + b'x' * 90]
        resolver.close()
        server.close()
        transport.close()
    run(main())
