"""Agent: an HTTP client for scripts, as Pipy's http.Agent, made of pipyx's own filters.

An Agent is a layout `mux_http().to(connect(host))` built once (`mux_http().to(connect_tls().to(connect(host)))`
for https), so its requests share mux_http's keep-alive pool, its HTTP/1 encoder and decoder, and TLS with the proxy
path. Each request is one instance of that layout, fed the request's
events; what it outputs is gathered into a Message. It runs on the engine's loop: await it from an async callback, a
task() or an exit() pipeline.
"""
import asyncio

from ._native import Data, EventCollector, Message, MessageEnd, MessageStart, StreamEnd, Context, tls_failure_reason
from .errors import caller_location


class RequestError(Exception):
    """A request got no complete response: .error is the name of what happened, as in StreamEnd (ConnectionRefused,
    ConnectionTimeout, ReadTimeout, ProtocolError, ...), or 'Timeout' (the request's own timeout) or 'BufferOverflow'
    (the body passed max_body_size). A TLS failure is a ProtocolError whose message says why (the certificate
    could not be verified, and the reason)."""

    def __init__(self, error, detail=None):
        super().__init__('%s%s' % (error, ': %s' % detail if detail else ''))
        self.error = error


class _Response:
    """The output of one request's pipeline, gathered into a Message."""

    def __init__(self, future, max_body_size):
        self.future = future
        self.max_body_size = max_body_size
        self.head = None
        self.body = Data()
        self.pipeline = None

    def on_event(self, evt):
        if self.future.done():
            return
        if isinstance(evt, MessageStart):
            self.head = evt.head
        elif isinstance(evt, Data):
            self.body.push(evt)
            if self.body.size > self.max_body_size:
                self.fail('BufferOverflow', 'the response body is over %d bytes' % self.max_body_size)
        elif isinstance(evt, MessageEnd):
            self.future.set_result(Message(self.head, self.body, evt.tail))
        elif isinstance(evt, StreamEnd):
            # A TLS failure ends the session with ProtocolError from within the TLS filter: it is still reporting.
            reason = tls_failure_reason()
            self.fail(evt.error or 'ConnectionReset', 'TLS: %s' % reason if reason else None)

    def fail(self, error, detail=None):
        if not self.future.done():
            self.future.set_exception(RequestError(error, detail))


class Agent:
    """Sends HTTP/1.1 requests to one host ('host:port', 'http://host:port', or 'https://host:port' for HTTPS, port
    443 by default), over keep-alive connections that are pooled and reused.

    Options: connect_timeout (5 s), read_timeout (60 s: the longest wait for the next byte of an answer),
    idle_timeout (300 s of no traffic on a connection), max_idle (60 s a pooled connection is kept unused),
    max_messages (requests per connection, 0: no limit), timeout (60 s for a whole request, 0: none),
    max_body_size (16 MiB of response body), max_header_size and max_header_count (of the response head).

    HTTPS (as connect_tls's options): trusted (CAs the server's chain must lead to: PEM text or file, or a list; the
    system's store by default), verify (True: chain and name are checked; False: nothing; a callable(ok, cert)
    decides), sni (the name asked for and checked; the host by default), certificate (a client certificate and key),
    alpn, handshake_timeout (10 s); tls, a dict of any other connect_tls options (min_version, ciphersuites, ...),
    which also makes a 'host:port' without a scheme HTTPS. Sessions are resumed on new connections. A server that
    fails the checks fails the request with RequestError('ProtocolError') saying why, and is logged.

    The Agent can be made at the top of a script; requests are made from code running on pipyx's loop."""

    def __init__(self, host, *, connect_timeout=5.0, read_timeout=60.0, idle_timeout=300.0, max_idle=60.0,
                 max_messages=0, timeout=60.0, max_body_size=16 << 20, max_header_size=None, max_header_count=None,
                 trusted=None, verify=True, sni=None, certificate=None, alpn=None, handshake_timeout=10.0,
                 tls=None):
        from .config import Configuration
        from .program import Program
        if not isinstance(host, str) or not host:
            raise ValueError('Agent: a host as "host:port", not %r' % (host,))
        if tls is not None and not isinstance(tls, dict):
            raise ValueError("Agent: tls is a dict of connect_tls's options, not %r" % (tls,))
        if host.startswith('https://'):
            host = host[len('https://'):].rstrip('/')
            if not host.rpartition(':')[2].isdigit() or host.endswith(']'):
                host += ':443'
            tls = dict(tls or {})
        elif host.startswith('http://'):
            host = host[len('http://'):].rstrip('/')
        if tls is None and (trusted is not None or sni is not None or certificate is not None):
            raise ValueError('Agent: trusted, sni and certificate are for https:// hosts, not %s' % host)
        if tls is not None:
            explicit = {'trusted': trusted, 'sni': sni, 'certificate': certificate, 'alpn': alpn}
            tls.update({k: v for k, v in explicit.items() if v is not None})
            tls.setdefault('verify', verify)
            tls.setdefault('handshake_timeout', handshake_timeout)
        self.host = host
        self.tls = tls
        self.timeout = timeout
        self.max_body_size = max_body_size

        program = Program('<agent>')
        module = program.module_for('<agent %s>' % host)
        self.layout = module.new_layout('agent %s' % host, caller_location())

        def connection(p):
            return p.connect(host, connect_timeout=connect_timeout, read_timeout=read_timeout,
                             idle_timeout=idle_timeout)

        def session(p):
            if tls is not None:
                return p.connect_tls(**tls).to(connection)
            return connection(p)

        Configuration(module, self.layout).mux_http(
            max_idle=max_idle, max_messages=max_messages, max_header_size=max_header_size,
            max_header_count=max_header_count).to(session)
        program.resolve()

    async def request(self, method, path='/', headers=None, body=None, *, timeout=None):
        """Sends one request and returns the response as a Message (its .head a ResponseHead, its .body a Data).
        headers: a dict (a Host header is added when missing); body: str, bytes or Data. Raises RequestError when
        no complete response came (refused, timed out, cut short, not HTTP). Safe requests on a reused connection
        that the host had just closed are sent again once, as mux_http does."""
        loop = asyncio.get_running_loop()
        fields = dict(headers) if headers else {}
        if not any(k.lower() == 'host' for k in fields):
            fields['host'] = self.host
        future = loop.create_future()
        response = _Response(future, self.max_body_size)
        pipeline = self.layout.start(EventCollector(response.on_event), Context())
        try:
            pipeline.input(MessageStart({'method': method, 'path': path, 'headers': fields}))
            if body is not None:
                payload = body if isinstance(body, Data) else Data(body)
                if payload.size:
                    pipeline.input(payload)
            pipeline.input(MessageEnd())
            limit = self.timeout if timeout is None else timeout
            try:
                return await (asyncio.wait_for(future, limit) if limit else future)
            except asyncio.TimeoutError:
                raise RequestError('Timeout', 'no complete response in %gs' % limit) from None
        finally:
            # After the response's end has gone out, mux_http puts the connection back in its pool; shutting the
            # request's pipeline down from the loop comes after that, and drops a connection still busy.
            loop.call_soon(pipeline.close)

    async def get(self, path='/', headers=None, **options):
        return await self.request('GET', path, headers, **options)

    async def post(self, path='/', headers=None, body=None, **options):
        return await self.request('POST', path, headers, body, **options)
