"""DNS for scripts: the message model decode_dns gives (DnsMessage, DnsQuestion, DnsRecord, DnsEdns), the wire
helpers a cache needs, and Resolver, a client that asks configured upstreams.

    from pipyx.dns import Resolver
    resolver = Resolver(['10.0.0.2:53', '10.0.0.3:53'])
    async def answer(msg):                  # from replace_message: the stream waits, the process does not
        return Message(await resolver.query(msg.head))

The codec is native (native/codecs/dns.pxi); the resolver is asyncio at the edge, one UDP socket per upstream with
the queries in flight on it matched by id and question.
"""
import asyncio
import secrets

from ._native import (DNS_RCODES, DNS_TYPE_NAMES, DNS_TYPES, DnsEdns, DnsError, DnsMessage, DnsQuestion, DnsRecord,
                      dns_reanswer, dns_truncated)

__all__ = ['DnsMessage', 'DnsQuestion', 'DnsRecord', 'DnsEdns', 'DnsError', 'DNS_TYPES', 'DNS_TYPE_NAMES',
           'DNS_RCODES', 'dns_reanswer', 'dns_truncated', 'Resolver', 'ResolveError', 'parse_upstream']

SERVFAIL, REFUSED = 2, 5
RCODE_NAMES = {v: k for k, v in DNS_RCODES.items()}


class ResolveError(Exception):
    """No usable answer: .error is 'Timeout' (no upstream answered in time), 'ConnectionRefused', 'Overloaded'
    (max_pending queries already in flight), 'ProtocolError' (a TCP answer that was not DNS), or, from resolve(),
    the answer's rcode name ('NXDOMAIN', 'SERVFAIL', ...)."""

    def __init__(self, error, detail=None):
        super().__init__('%s%s' % (error, ': %s' % detail if detail else ''))
        self.error = error


def parse_upstream(text):
    """'host:port', 'host' (port 53) or '[v6]:port' -> (host, port)."""
    text = text.strip()
    if text.startswith('['):
        host, _, port = text[1:].partition(']')
        port = port.lstrip(':')
    elif text.count(':') == 1:
        host, port = text.split(':')
    else:
        host, port = text, ''
    if not host:
        raise ValueError('an upstream as host:port, not %r' % text)
    return host, int(port) if port else 53


def _same_question(answer, key):
    # Matched on the question (name, type, class), not on the DO/CD byte the key ends with.
    got = answer.cache_key
    if got is None:
        return answer.rcode != 0          # (a FORMERR or NOTIMP may come without the question)
    return got[:-1] == key[:-1]


class _Upstream(asyncio.DatagramProtocol):
    """One upstream server: a UDP socket of its own and the queries in flight on it, by id."""

    def __init__(self, resolver, address):
        self.resolver = resolver
        self.address = address
        self.transport = None
        self.opening = None
        self.pending = {}                 # id -> (future, key)

    async def ready(self):
        if self.transport is not None:
            return
        if self.opening is None:
            loop = asyncio.get_running_loop()
            self.opening = loop.create_task(loop.create_datagram_endpoint(lambda: self, remote_addr=self.address))
        try:
            await self.opening
        finally:
            self.opening = None if self.transport is None else self.opening

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        if len(data) < 12:
            return
        entry = self.pending.get((data[0] << 8) | data[1])
        if entry is None:
            return                        # late (timed out) or not ours
        future, key = entry
        try:
            answer = DnsMessage(data)
        except DnsError:
            return                        # a broken or forged answer: the real one may still come
        if not _same_question(answer, key):
            return
        del self.pending[answer.id]
        if not future.done():
            future.set_result(answer)

    def error_received(self, exc):
        # On a connected socket, an ICMP error of an earlier query: the upstream's port is closed.
        self.fail_all(ResolveError('ConnectionRefused', '%s:%s' % self.address))

    def connection_lost(self, exc):
        self.transport = None
        self.opening = None
        self.fail_all(ResolveError('ConnectionRefused', '%s:%s' % self.address))

    def fail_all(self, error):
        pending, self.pending = self.pending, {}
        for future, _ in pending.values():
            if not future.done():
                future.set_exception(error)

    async def ask_udp(self, query, key, timeout):
        await self.ready()
        if len(self.pending) >= self.resolver.max_pending:
            raise ResolveError('Overloaded', '%d queries in flight to %s:%s' % ((len(self.pending),) + self.address))
        qid = secrets.randbits(16)
        while qid in self.pending:
            qid = secrets.randbits(16)
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.pending[qid] = (future, key)
        own = query.id
        query.id = qid
        try:
            self.transport.sendto(query.to_bytes())
        finally:
            query.id = own
        timer = loop.call_later(timeout, self.timed_out, qid, future)
        try:
            return await future
        finally:
            timer.cancel()
            if self.pending.get(qid, (None,))[0] is future:
                del self.pending[qid]

    def timed_out(self, qid, future):
        if not future.done():
            future.set_exception(ResolveError('Timeout', 'no answer from %s:%s' % self.address))

    async def ask_tcp(self, query, key, timeout):
        qid = secrets.randbits(16)
        own = query.id
        query.id = qid
        try:
            wire = query.to_bytes()
        finally:
            query.id = own

        async def exchange():
            reader, writer = await asyncio.open_connection(*self.address)
            try:
                writer.write(len(wire).to_bytes(2, 'big') + wire)
                while True:
                    size = int.from_bytes(await reader.readexactly(2), 'big')
                    answer = DnsMessage(await reader.readexactly(size))
                    if answer.id == qid and _same_question(answer, key):
                        return answer
            finally:
                writer.close()
        try:
            return await asyncio.wait_for(exchange(), timeout)
        except asyncio.TimeoutError:
            raise ResolveError('Timeout', 'no TCP answer from %s:%s' % self.address) from None
        except (OSError, asyncio.IncompleteReadError) as e:
            raise ResolveError('ConnectionRefused', '%s:%s over TCP: %s' % (self.address + (e,))) from None
        except DnsError as e:
            raise ResolveError('ProtocolError', '%s:%s over TCP: %s' % (self.address + (e,))) from None

    def close(self):
        if self.transport is not None:
            self.transport.close()


class Resolver:
    """Asks DNS upstreams ('host:port' strings, tried in order): each query goes to the first over UDP; on no answer
    within timeout seconds, on SERVFAIL or REFUSED, it goes to the next. A truncated (TC) answer is asked again of
    the same upstream over TCP (tcp_timeout). Ids are random and an answer is taken only with the id and question
    of its query. At most max_pending queries are in flight per upstream.

    Made anywhere in a script; its sockets are opened on pipyx's loop when first used."""

    def __init__(self, upstreams, *, timeout=2.0, tcp_timeout=5.0, max_pending=10000):
        if isinstance(upstreams, str):
            upstreams = [u for u in upstreams.split(',') if u.strip()]
        if not upstreams:
            raise ValueError('Resolver: at least one upstream, as host:port')
        self.upstreams = [_Upstream(self, parse_upstream(u)) for u in upstreams]
        self.timeout = timeout
        self.tcp_timeout = tcp_timeout
        self.max_pending = max_pending

    async def query(self, message, *, timeout=None):
        """Sends a query (a DnsMessage, or wire bytes) and returns the answer as a DnsMessage with the query's own
        id. An answer with SERVFAIL or REFUSED from every upstream is returned as the last one gave it; no answer
        at all raises ResolveError."""
        query = message if isinstance(message, DnsMessage) else DnsMessage(message)
        key = query.cache_key
        if key is None:
            raise DnsError('a query without a question')
        limit = self.timeout if timeout is None else timeout
        last = None
        for up in self.upstreams:
            try:
                answer = await up.ask_udp(query, key, limit)
                if answer.tc:
                    answer = await up.ask_tcp(query, key, self.tcp_timeout)
            except ResolveError as e:
                if not isinstance(last, DnsMessage):
                    last = e
                continue
            if answer.rcode in (SERVFAIL, REFUSED):
                last = answer
                continue
            answer.id = query.id
            return answer
        if isinstance(last, DnsMessage):
            last.id = query.id
            return last
        raise last

    async def resolve(self, name, type='A', *, timeout=None):
        """The data of the answers of that type for name (['192.0.2.1', ...] for A; [] when the name has none).
        An answer other than NOERROR raises ResolveError with its rcode name."""
        answer = await self.query(DnsMessage.query(name, type), timeout=timeout)
        if answer.rcode:
            raise ResolveError(RCODE_NAMES.get(answer.rcode, 'RCODE%d' % answer.rcode), name)
        code = DnsQuestion(name, type).type
        return [r.data for r in answer.answers if r.type == code]

    def close(self):
        for up in self.upstreams:
            up.close()
