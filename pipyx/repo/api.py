"""The repo's HTTP API as a serve_http handler: routing, the bearer token, JSON, and the workers' long poll.

`RepoAPI(store, token).handle` takes a request Message and returns (an awaitable of) the response Message. Store
calls run on one worker thread, so an fsync on publish never stalls the event loop; the long poll waits on an
asyncio.Event per codebase, set when that codebase gets a new version. The contract is in docs/repo-api.md.
"""
import asyncio
import hmac
import json
import logging
import os
import re
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, unquote

from .._native import Message
from .store import Conflict, NotFound, check_name, check_path

log = logging.getLogger('pipyx.repo')

MAX_WAIT = 60.0                      # seconds a long poll may be held, whatever the client asks
WRITE_METHODS = ('POST', 'PUT', 'PATCH', 'DELETE')
JSON_HEADERS = {'content-type': 'application/json'}


class HTTPError(Exception):
    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


def json_response(obj, status=200):
    return Message({'status': status, 'headers': JSON_HEADERS}, json.dumps(obj, separators=(',', ':')) + '\n')


def error_response(status, message, headers=None):
    h = dict(JSON_HEADERS)
    h.update(headers or {})
    return Message({'status': status, 'headers': h}, json.dumps({'error': message}) + '\n')


def bytes_response(data, sha=None):
    headers = {'content-type': 'application/octet-stream'}
    if sha:
        headers['etag'] = '"%s"' % sha
    return Message({'status': 200, 'headers': headers}, data)


NO_CONTENT = Message({'status': 204})


# -- the admin page: static files from pipyx/repo/ui ------------------------------------------------------------------

UI_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'ui')
UI_FILE_RE = re.compile(r'[A-Za-z0-9_-]+\.(html|js|css)\Z')      # one level, no dots but the extension
UI_TYPES = {'html': 'text/html; charset=utf-8', 'js': 'text/javascript; charset=utf-8',
            'css': 'text/css; charset=utf-8'}
# The page holds the token: it runs no inline or foreign script, loads nothing from elsewhere and is never framed.
UI_HEADERS = {'cache-control': 'no-cache', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer',
              'content-security-policy': "default-src 'self'; img-src 'self' data:; base-uri 'none'; "
                                         "frame-ancestors 'none'",
              'x-frame-options': 'DENY'}


async def serve_ui(req):
    """The admin page: / is ui/index.html, /ui/NAME one of its files. Read on each request (they are small), so an
    edited page shows on reload."""
    path = req.head.path.partition('?')[0]
    if path in ('/', '/ui', '/ui/'):
        name = 'index.html'
    elif path.startswith('/ui/'):
        name = path[len('/ui/'):]
    else:
        raise HTTPError(404, 'not found: %s (the admin page is at /)' % path)
    if req.head.method.upper() not in ('GET', 'HEAD'):
        raise HTTPError(405, 'the admin page is read-only', {'allow': 'GET, HEAD'})
    m = UI_FILE_RE.match(name)
    if m is None:
        raise HTTPError(404, 'not found: %s' % path)
    try:
        with open(os.path.join(UI_DIR, name), 'rb') as f:
            data = f.read()
    except FileNotFoundError:
        raise HTTPError(404, 'not found: %s' % path)
    return Message({'status': 200, 'headers': dict(UI_HEADERS, **{'content-type': UI_TYPES[m.group(1)]})}, data)


def decode(segment):
    """Percent-decodes one piece of the request path; invalid UTF-8 is a 400, not a replacement character."""
    try:
        return unquote(segment, errors='strict')
    except UnicodeDecodeError:
        raise HTTPError(400, 'the request path is not valid UTF-8 once percent-decoded')


class RepoAPI:
    """Routes /api/v1/... (management) and /repo/... (workers) to a Store."""

    def __init__(self, store, token=None):
        self.store = store
        self.token = (token.strip() or None) if token else None      # as the server reads it: blank is no token
        self.ui = serve_ui               # hook: a handler for everything outside /api/ and /repo/ (admin page)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix='pipyx-repo-store')
        self._versions = {}              # codebase -> asyncio.Event set when it gets a new version
        self.stopping = False            # the server is stopping: a long poll answers at once instead of waiting

    def close(self):
        self.wake_all()
        self._pool.shutdown(wait=True)
        self.store.close()

    async def call(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    # -- long-poll wake-ups ---------------------------------------------------------------------------------------

    def _event(self, name):
        ev = self._versions.get(name)
        if ev is None:
            ev = self._versions[name] = asyncio.Event()
        return ev

    def notify(self, name):
        """Wakes the requests waiting for a new version of name. A store shared by several repo servers (etcd)
        would call this from its watch."""
        ev = self._versions.pop(name, None)
        if ev is not None:
            ev.set()

    def wake_all(self, stopping=False):
        """Answers every held long poll now (at shutdown, so draining does not wait for them). stopping: so are
        the polls that come from now on: a worker woken here asks again at once, and its new poll, accepted before
        the listener closes, would otherwise hold up the drain for its whole wait."""
        self.stopping = self.stopping or stopping
        for name in list(self._versions):
            self.notify(name)

    # -- the handler ----------------------------------------------------------------------------------------------

    async def handle(self, req):
        head = req.head
        method = head.method.upper()
        target = head.path
        path, _, query = target.partition('?')
        try:
            if path.startswith('/api/v1/'):
                if method in WRITE_METHODS:
                    self.authorize(head.headers.get('authorization'))
                return await self.route_api(method, path[len('/api/v1/'):].split('/'), query, req)
            if path.startswith('/repo/'):
                if method not in ('GET', 'HEAD'):
                    raise HTTPError(405, 'the worker API is read-only', {'allow': 'GET, HEAD'})
                return await self.route_repo(path[len('/repo/'):], query)
            if self.ui is not None:
                return await self.ui(req)
            raise HTTPError(404, 'not found: %s' % path)
        except HTTPError as e:
            return error_response(e.status, e.message, e.headers)
        except ValueError as e:
            return error_response(400, str(e))
        except NotFound as e:
            return error_response(404, e.args[0] if e.args else 'not found')
        except Conflict as e:
            return error_response(409, str(e))
        except Exception:
            log.exception('repo: %s %s failed', method, target)
            return error_response(500, 'internal error')

    def takes_body(self, head):
        """Whether the answer to the request with this head reads its body: only a write under /api/v1/ that the
        token allows does. The server gathers no other body, so that nobody without the token can make it hold an
        upload it will refuse, nor a body that no answer reads (a GET's, a write to /repo/)."""
        if head.method.upper() not in WRITE_METHODS or not head.path.startswith('/api/v1/'):
            return False
        try:
            self.authorize(head.headers.get('authorization'))
        except HTTPError:
            return False
        return True

    def authorize(self, header):
        if self.token is None:
            return
        if not header:
            raise HTTPError(401, 'this needs a token: Authorization: Bearer <token>',
                            {'www-authenticate': 'Bearer'})
        scheme, _, given = header.partition(' ')
        # compare_digest: how much of a wrong token matches must not show in the time it takes to refuse it.
        if scheme.lower() != 'bearer' or not hmac.compare_digest(given.strip().encode(), self.token.encode()):
            raise HTTPError(403, 'wrong token')

    # -- /api/v1 --------------------------------------------------------------------------------------------------

    async def route_api(self, method, parts, query, req):
        if len(parts) == 2 and parts[1] == '':
            parts = parts[:1]            # /api/v1/codebases/ is /api/v1/codebases
        top = parts[0]
        if top == 'codebases':
            if len(parts) == 1:
                return await self.allow(method, {'GET': self.list_codebases, 'POST': self.create_codebase}, req)
            name = check_name(decode(parts[1]))
            if len(parts) == 2:
                return await self.allow(method, {'GET': self.get_codebase, 'DELETE': self.delete_codebase}, name)
            what = parts[2]
            if what == 'files' and len(parts) >= 4:
                path = decode('/'.join(parts[3:]))
                return await self.allow(method, {'GET': self.read_file, 'PUT': self.write_file,
                                                 'DELETE': self.delete_file}, name, path, req)
            if len(parts) == 3:
                handlers = {'entry': {'PUT': self.set_entry}, 'publish': {'POST': self.publish},
                            'versions': {'GET': self.list_versions}, 'diff': {'GET': self.diff}}.get(what)
                if handlers is not None:
                    return await self.allow(method, handlers, name, query, req)
        elif top == 'blobs' and len(parts) == 2:
            return await self.allow(method, {'GET': self.read_blob}, decode(parts[1]))
        elif top == 'instances':
            if len(parts) == 1:
                return await self.allow(method, {'GET': self.list_instances})
            if len(parts) == 2:
                return await self.allow(method, {'POST': self.report_instance}, decode(parts[1]), req)
        raise HTTPError(404, 'no such endpoint: /api/v1/%s' % '/'.join(parts))

    @staticmethod
    async def allow(method, handlers, *args):
        if method == 'HEAD' and 'GET' in handlers:
            method = 'GET'               # serve_http drops the body of an answer to HEAD
        fn = handlers.get(method)
        if fn is None:
            raise HTTPError(405, 'method %s not allowed here' % method, {'allow': ', '.join(handlers)})
        return await fn(*args)

    @staticmethod
    def json_body(req):
        raw = req.body.to_bytes() if req.body is not None else b''
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise HTTPError(400, 'the request body is not valid JSON')
        if not isinstance(body, dict):
            raise HTTPError(400, 'the request body must be a JSON object')
        return body

    async def list_codebases(self, req):
        return json_response(await self.call(self.store.list_codebases))

    async def create_codebase(self, req):
        body = self.json_body(req)
        if 'name' not in body:
            raise HTTPError(400, 'give the new codebase a "name"')
        check_name(body['name'])
        return json_response(await self.call(self.store.create_codebase, body['name'], body.get('base')), 201)

    async def get_codebase(self, name):
        return json_response(await self.call(self.store.get_codebase, name))

    async def delete_codebase(self, name):
        await self.call(self.store.delete_codebase, name)
        self.notify(name)                # held polls answer now: 404
        return NO_CONTENT

    async def read_file(self, name, path, req):
        return bytes_response(await self.call(self.store.read_file, name, path))

    async def write_file(self, name, path, req):
        await self.call(self.store.write_file, name, path, req.body.to_bytes() if req.body is not None else b'')
        return NO_CONTENT

    async def delete_file(self, name, path, req):
        await self.call(self.store.delete_file, name, path)
        return NO_CONTENT

    async def set_entry(self, name, query, req):
        path = self.json_body(req).get('path')
        if not isinstance(path, str):
            raise HTTPError(400, 'give the entry as {"path": "..."}')
        return json_response(await self.call(self.store.set_entry, name, path))

    async def publish(self, name, query, req):
        published = await self.call(self.store.publish, name)
        for n in published:
            self.notify(n)
        log.info('published %s', ', '.join('%s v%d' % kv for kv in published.items()))
        return json_response({'version': published[name]})

    async def list_versions(self, name, query, req):
        return json_response(await self.call(self.store.list_versions, name))

    async def diff(self, name, query, req):
        q = parse_qs(query)
        a = version_arg(q, 'from', None)
        b = version_arg(q, 'to', 'draft')
        if a is None:
            raise HTTPError(400, 'give ?from=VERSION (a number, 0 for empty, or draft)')
        old = await self.call(self.store.file_map, name, a)
        new = await self.call(self.store.file_map, name, b)
        return json_response({'added': sorted(p for p in new if p not in old),
                              'removed': sorted(p for p in old if p not in new),
                              'changed': sorted(p for p in new if p in old and old[p] != new[p])})

    async def read_blob(self, sha):
        return bytes_response(await self.call(self.store.read_blob, sha), sha)

    async def list_instances(self):
        return json_response(await self.call(self.store.list_instances))

    async def report_instance(self, instance_id, req):
        return json_response(await self.call(self.store.upsert_instance, instance_id, self.json_body(req)))

    # -- /repo (workers) ------------------------------------------------------------------------------------------

    async def route_repo(self, rest, query):
        name, slash, path = rest.partition('/')
        name = check_name(decode(name))
        q = parse_qs(query)
        if not path:
            return await self.manifest(name, q)
        version = version_arg(q, 'version', None)
        if version == 'draft' or version == 0:
            raise HTTPError(400, 'version must be a published version number')
        path = check_path(decode(path))
        info = await self.call(self.store.get_version, name, version)
        sha = info['files'].get(path)
        if sha is None:
            raise HTTPError(404, 'version %d of %r has no file %r' % (info['version'], name, path))
        return bytes_response(await self.call(self.store.read_blob, sha), sha)

    async def manifest(self, name, q):
        since = int_arg(q, 'since')
        wait = min(max(float_arg(q, 'wait') or 0.0, 0.0), MAX_WAIT)
        # Take the event before reading the version: a publish landing between the read and the wait sets this
        # very event, so it cannot be missed.
        ev = self._event(name)
        try:
            info = await self.call(self.latest_or_none, name)
        except NotFound:
            self.notify(name)            # no such codebase: keep no event for it
            raise
        if since is not None and wait > 0 and not self.stopping and (info['version'] if info else 0) == since:
            try:
                await asyncio.wait_for(ev.wait(), wait)
            except asyncio.TimeoutError:
                pass
            info = await self.call(self.latest_or_none, name)
        if info is None:
            raise HTTPError(404, 'codebase %r has no published version' % name)
        return json_response(info)

    def latest_or_none(self, name):
        """The latest version's manifest, None if nothing is published; NotFound if there is no such codebase."""
        try:
            return self.store.get_version(name)
        except NotFound:
            self.store.get_codebase(name)        # raises NotFound when the codebase itself is missing
            return None


def version_arg(q, key, default):
    """A version from the query: a number >= 0, or 'draft'."""
    if key not in q:
        return default
    v = q[key][-1]
    if v == 'draft':
        return v
    if not v.isdigit():
        raise HTTPError(400, '%s must be a version number or draft, not %r' % (key, v))
    return int(v)


def int_arg(q, key):
    if key not in q:
        return None
    v = q[key][-1]
    if not v.isdigit():
        raise HTTPError(400, '%s must be a non-negative integer, not %r' % (key, v))
    return int(v)


def float_arg(q, key):
    if key not in q:
        return None
    try:
        return float(q[key][-1])
    except ValueError:
        raise HTTPError(400, '%s must be a number of seconds, not %r' % (key, q[key][-1]))
