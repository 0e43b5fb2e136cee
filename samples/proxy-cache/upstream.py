# An upstream to try the proxy on: `python3 -m pipyx samples/proxy-cache/upstream.py` (PORT, default 8081).
#   /time       the time, cacheable for 10 s (Cache-Control: max-age=10)
#   /no-store   the time, never to be stored
#   /private    the time, for one user only (Cache-Control: private)
#   /slow       takes a second to answer; no Cache-Control, so the proxy's TTL applies
#   anything else: 404, cacheable for 10 s
import asyncio
import os
import time

from pipyx import pipy, Message, ResponseHead

port = int(os.environ.get('PORT', '8081'))
served = 0


def now(cache_control):
    global served
    served += 1
    headers = {'content-type': 'text/plain'}
    if cache_control:
        headers['cache-control'] = cache_control
    return Message(ResponseHead(200, headers), 'upstream answer #%d at %s\n' % (served, time.strftime('%H:%M:%S')))


async def slow():
    await asyncio.sleep(1)
    return now(None)


ROUTES = {
    '/time': lambda: now('max-age=10'),
    '/no-store': lambda: now('no-store'),
    '/private': lambda: now('private, max-age=60'),
    '/slow': slow,
}


def handle(req):
    route = ROUTES.get(req.head.path.partition('?')[0])
    if route is None:
        return Message(ResponseHead(404, {'cache-control': 'max-age=10'}), 'not found\n')
    return route()


pipy().listen(port).serve_http(handle)
