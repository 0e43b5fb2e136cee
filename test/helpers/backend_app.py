"""A small HTTP/1.1 origin server the proxy tests put pipyx in front of: `python test/helpers/backend_app.py PORT`.

Paths:
  /echo            200, JSON {method, path, headers: [[name, value], ...], body}
  /status/<code>   that status (no body for 1xx/204/304; a short text body otherwise)
  /slow/<ms>       waits <ms> milliseconds, then 200 'slow'
  /close           closes the connection without answering
  /chunked/<n>     a chunked response of n chunks, 'chunk-<i>\n' each
  /big/<bytes>     a Content-Length body of that many bytes (a repeating a..z pattern), streamed
  /conn            JSON {conn: <id of this TCP connection>, requests: <requests seen on it so far>}
  /head-test       'head-test body\n' for GET; for HEAD the same Content-Length and no body
  /eof/<bytes>     a body of that many bytes framed by closing the connection (no Content-Length, not chunked)
  /close-after     200 'bye' with `Connection: close`, then closes the connection
  /sink            reads the request body as it comes and discards it; 200 JSON {length, sha256} of the body
  /slow-read/<pause_ms>/<bytes>/<tick_ms>
                   like /sink, but waits pause_ms before reading anything, then reads about <bytes> per tick_ms
  /drip/<n>/<ms>   a chunked response of n chunks, 'drip-<i>\n' each, one every <ms> milliseconds
  /stats           JSON {opened: connections accepted so far, open: [ids of the connections open now]} (ids as
                   /conn reports them)
Connections stay open (keep-alive) unless the client says `Connection: close` or speaks HTTP/1.0 without
keep-alive.
"""
import asyncio
import hashlib
import itertools
import json
import sys

PATTERN = bytes(range(ord('a'), ord('z') + 1)) * 2521     # 65546 bytes; slices of it make /big bodies
_conn_ids = itertools.count(1)
_open_conns = set()                                        # ids of the connections being handled now
_last_conn_id = [0]
STREAMED_BODY = ('sink', 'slow-read')                      # paths whose handler reads the request body itself

REASONS = {200: 'OK', 201: 'Created', 204: 'No Content', 304: 'Not Modified', 400: 'Bad Request',
           404: 'Not Found', 500: 'Internal Server Error', 503: 'Service Unavailable'}


def big_chunk(offset, n):
    # bytes [offset, offset + n) of the infinite a..z pattern
    start = offset % 26
    out = bytearray()
    while n > 0:
        take = min(n, len(PATTERN) - start)
        out += PATTERN[start:start + take]
        n -= take
        start = 0
    return bytes(out)


async def read_request(reader):
    """Returns (method, path, version, headers list, body bytes) or None at a clean end of the connection. For the
    paths in STREAMED_BODY the body is left unread (None): the handler reads it with body_pieces()."""
    line = await reader.readline()
    if not line:
        return None
    while line in (b'\r\n', b'\n'):
        line = await reader.readline()
        if not line:
            return None
    parts = line.decode('latin-1').rstrip('\r\n').split(' ')
    if len(parts) != 3:
        raise ValueError('bad request line %r' % line)
    method, path, version = parts
    headers = []
    while True:
        h = await reader.readline()
        if not h:
            raise ValueError('eof in head')
        if h in (b'\r\n', b'\n'):
            break
        name, _, value = h.decode('latin-1').partition(':')
        headers.append([name.strip(), value.strip()])
    hmap = {k.lower(): v for k, v in headers}
    if path.split('?')[0].strip('/').split('/')[0] in STREAMED_BODY:
        return method, path, version, headers, None
    body = b''
    if 'chunked' in hmap.get('transfer-encoding', '').lower():
        chunks = []
        while True:
            size_line = await reader.readline()
            size = int(size_line.split(b';')[0].strip(), 16)
            if size == 0:
                while (await reader.readline()) not in (b'\r\n', b'\n', b''):
                    pass
                break
            chunks.append(await reader.readexactly(size))
            await reader.readline()
        body = b''.join(chunks)
    elif 'content-length' in hmap:
        n = int(hmap['content-length'])
        if n:
            body = await reader.readexactly(n)
    return method, path, version, headers, body


async def body_pieces(reader, hmap, most=65536):
    """Yields the request body in pieces of at most `most` bytes as they arrive (Content-Length or chunked)."""
    if 'chunked' in hmap.get('transfer-encoding', '').lower():
        while True:
            size_line = await reader.readline()
            if not size_line:
                raise asyncio.IncompleteReadError(b'', None)
            size = int(size_line.split(b';')[0].strip(), 16)
            if size == 0:
                while (await reader.readline()) not in (b'\r\n', b'\n', b''):
                    pass
                return
            while size > 0:
                piece = await reader.read(min(size, most))
                if not piece:
                    raise asyncio.IncompleteReadError(b'', size)
                size -= len(piece)
                yield piece
            await reader.readline()
    else:
        left = int(hmap.get('content-length', '0') or 0)
        while left > 0:
            piece = await reader.read(min(left, most))
            if not piece:
                raise asyncio.IncompleteReadError(b'', left)
            left -= len(piece)
            yield piece


def head_bytes(status, headers, keep_alive):
    lines = ['HTTP/1.1 %d %s' % (status, REASONS.get(status, 'Status'))]
    for k, v in headers:
        lines.append('%s: %s' % (k, v))
    if not keep_alive:
        lines.append('Connection: close')
    return ('\r\n'.join(lines) + '\r\n\r\n').encode('latin-1')


async def handle(reader, writer):
    conn_id = next(_conn_ids)
    _last_conn_id[0] = conn_id
    _open_conns.add(conn_id)
    count = 0
    try:
        while True:
            req = await read_request(reader)
            if req is None:
                break
            count += 1
            method, path, version, headers, body = req
            hmap = {k.lower(): v for k, v in headers}
            conn_hdr = hmap.get('connection', '').lower()
            keep_alive = ('close' not in conn_hdr) if version == 'HTTP/1.1' else ('keep-alive' in conn_hdr)
            is_head = method == 'HEAD'

            async def send(status, body=b'', ctype='text/plain', extra=()):
                hs = [('Content-Type', ctype)] + list(extra)
                if status >= 200 and status not in (204, 304):
                    hs.append(('Content-Length', str(len(body))))
                writer.write(head_bytes(status, hs, keep_alive))
                if not is_head and status >= 200 and status not in (204, 304):
                    writer.write(body)
                await writer.drain()

            seg = path.split('?')[0].strip('/').split('/')
            name = seg[0]
            arg = seg[1] if len(seg) > 1 else ''
            if name == 'echo':
                doc = {'method': method, 'path': path, 'version': version, 'headers': headers,
                       'body': body.decode('utf-8', 'replace')}
                await send(200, json.dumps(doc).encode(), 'application/json', [('X-Backend', 'yes')])
            elif name == 'status':
                code = int(arg)
                await send(code, ('status %d\n' % code).encode())
            elif name == 'slow':
                await asyncio.sleep(int(arg) / 1000.0)
                await send(200, b'slow')
            elif name == 'close':
                writer.transport.abort() if hmap.get('x-abort') else writer.close()
                return
            elif name == 'chunked':
                n = int(arg)
                writer.write(head_bytes(200, [('Content-Type', 'text/plain'), ('Transfer-Encoding', 'chunked')],
                                        keep_alive))
                if not is_head:
                    for i in range(n):
                        piece = ('chunk-%d\n' % i).encode()
                        writer.write(b'%x\r\n%s\r\n' % (len(piece), piece))
                        if i % 8 == 7:
                            await writer.drain()
                            await asyncio.sleep(0.001)
                    writer.write(b'0\r\n\r\n')
                await writer.drain()
            elif name == 'big':
                total = int(arg)
                writer.write(head_bytes(200, [('Content-Type', 'application/octet-stream'),
                                              ('Content-Length', str(total))], keep_alive))
                if not is_head:
                    sent = 0
                    while sent < total:
                        n = min(65536, total - sent)
                        writer.write(big_chunk(sent, n))
                        sent += n
                        await writer.drain()
                await writer.drain()
            elif name == 'conn':
                await send(200, json.dumps({'conn': conn_id, 'requests': count}).encode(), 'application/json')
            elif name == 'head-test':
                await send(200, b'head-test body\n')
            elif name == 'eof':
                total = int(arg)
                writer.write(head_bytes(200, [('Content-Type', 'application/octet-stream')], False))
                if not is_head:
                    sent = 0
                    while sent < total:
                        n = min(65536, total - sent)
                        writer.write(big_chunk(sent, n))
                        sent += n
                        await writer.drain()
                await writer.drain()
                break
            elif name == 'close-after':
                keep_alive = False
                await send(200, b'bye')
                break
            elif name in ('sink', 'slow-read'):
                if name == 'slow-read':
                    pause_ms, per_tick, tick_ms = (int(x) for x in seg[1:4])
                    await asyncio.sleep(pause_ms / 1000.0)
                else:
                    per_tick, tick_ms = 0, 0
                digest = hashlib.sha256()
                length = 0
                since_tick = 0
                async for piece in body_pieces(reader, hmap, 65536):
                    digest.update(piece)
                    length += len(piece)
                    since_tick += len(piece)
                    if per_tick and since_tick >= per_tick:
                        since_tick = 0
                        await asyncio.sleep(tick_ms / 1000.0)
                await send(200, json.dumps({'length': length, 'sha256': digest.hexdigest()}).encode(),
                           'application/json')
            elif name == 'drip':
                n, ms = int(seg[1]), int(seg[2])
                writer.write(head_bytes(200, [('Content-Type', 'text/plain'), ('Transfer-Encoding', 'chunked')],
                                        keep_alive))
                for i in range(n):
                    piece = ('drip-%d\n' % i).encode()
                    writer.write(b'%x\r\n%s\r\n' % (len(piece), piece))
                    await writer.drain()
                    await asyncio.sleep(ms / 1000.0)
                writer.write(b'0\r\n\r\n')
                await writer.drain()
            elif name == 'stats':
                await send(200, json.dumps({'opened': _last_conn_id[0], 'open': sorted(_open_conns)}).encode(),
                           'application/json')
            else:
                await send(404, b'not found\n')
            if not keep_alive:
                break
    except (ValueError, asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        _open_conns.discard(conn_id)
        try:
            writer.close()
        except Exception:
            pass


async def main(port):
    server = await asyncio.start_server(handle, '127.0.0.1', port, limit=1 << 20)
    async with server:
        await server.serve_forever()


if __name__ == '__main__':
    asyncio.run(main(int(sys.argv[1])))
