"""A WebSocket server from the `websockets` package, on an asyncio loop in a thread of the test process: the upstream
that pipyx proxies upgrades to, or talks to through its own codec."""
import asyncio
import threading

from websockets.asyncio.server import serve

from test.helpers import free_port

TIMEOUT = 10


class EchoServer:
    """Echoes every message; 'close <code>' makes it close with that code; 'headers' answers with the request's
    headers it saw. It records the opening requests (path, headers) it got."""

    def __init__(self, max_size=1 << 20):
        self.requests = []
        self.max_size = max_size
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name='ws-echo', daemon=True)
        self.thread.start()
        self.port = free_port()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(TIMEOUT)

    async def _start(self):
        self.server = await serve(self._handle, '127.0.0.1', self.port, max_size=self.max_size,
                                  process_request=self._process_request)

    def _process_request(self, connection, request):
        self.requests.append((request.path, dict((k.lower(), v) for k, v in request.headers.raw_items())))
        if request.path == '/refuse':
            return connection.respond(403, 'refused\n')
        return None

    async def _handle(self, ws):
        async for msg in ws:
            if msg == 'headers':
                await ws.send(repr(sorted(self.requests[-1][1].items())))
            elif isinstance(msg, str) and msg.startswith('close '):
                await ws.close(int(msg.split()[1]), 'asked to')
                return
            else:
                await ws.send(msg)

    def stop(self):
        async def stop():
            self.server.close()
            await self.server.wait_closed()
        try:
            asyncio.run_coroutine_threadsafe(stop(), self.loop).result(TIMEOUT)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(TIMEOUT)
