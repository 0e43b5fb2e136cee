"""Running a codebase from a pipyx repo: `pipyx http://host:port/repo/NAME/`.

The worker downloads the latest published version into a local cache, loads it like any script, serves it, and then
waits for newer versions (long-polling the repo, or short polling with --poll-interval) and switches to each one the
way SIGHUP does: new connections get the new version, connections already open keep theirs. A version that fails to
load is reported to the repo and the previous one keeps serving. While the repo is unreachable the worker keeps
serving what it has and retries with backoff; several repo URLs (comma-separated) are tried in turn.

Cache layout, under --repo-cache (default ~/.cache/pipyx/HOST_PORT/NAME/):
    blobs/<sha256>     every file content downloaded, verified against its hash; shared by all versions
    v<N>.json          the manifest of version N
    v<N>/              version N's files; renamed into place only once complete, so a version dir is never partial
"""
import asyncio
import hashlib
import json
import logging
import os
import re
import shutil
import socket
import sys
import time
import urllib.parse

from .__version__ import VERSION
from ._native import TlsContext, TlsError
from .agent import Agent, RequestError
from .errors import ScriptError
from .loader import load_program

log = logging.getLogger('pipyx')

LONG_POLL_WAIT = 25          # seconds the repo may hold a long-poll; the repo caps it at 60
HEARTBEAT = 10.0             # seconds between instance reports when nothing changes
BACKOFF_MAX = 4.0            # longest pause between retries while the repo is down
KEEP_VERSIONS = 3            # version directories kept in the cache besides the running one
MAX_BODY = 256 << 20


def is_repo_url(arg):
    return bool(arg) and arg.startswith(('http://', 'https://'))


class RepoError(Exception):
    """The repo could not be reached or answered with a server error: worth retrying, maybe elsewhere."""


class NotFound(Exception):
    """The repo answered 404: nothing published yet (for a codebase) or no such blob."""


# -- the repo's HTTP client -------------------------------------------------------------------------------------------
# pipyx's own Agent (mux_http over connect, and connect_tls for https): the same HTTP and TLS code as the scripts',
# on the worker's loop, with keep-alive to the repo. A long poll is cancelled at once when the worker stops.

def tls_context(ca_file=None):
    """connect_tls's options for https:// repo URLs: the system's CA store, or only the CAs in ca_file (a private
    CA). The certificate and its host name are always verified: the worker runs whatever code the repo sends. An
    unreadable or empty ca_file is a ValueError now, not a failure at each request."""
    options = {'verify': True}
    if ca_file:
        options['trusted'] = os.path.abspath(ca_file)
    try:
        TlsContext(False, dict(options))
    except TlsError as e:
        raise ValueError('cannot load the CA certificates in %s: %s' % (ca_file, e)) if ca_file else e
    return options


_agents = {}


def agent_for(url, tls):
    """The Agent of url's origin, made once per origin and TLS options, so its connections are reused."""
    u = urllib.parse.urlsplit(url)
    secure = u.scheme == 'https'
    host = '%s:%d' % (u.hostname if ':' not in u.hostname else '[%s]' % u.hostname, u.port or (443 if secure else 80))
    key = (host, secure, repr(sorted((tls or {}).items())) if secure else None)
    agent = _agents.get(key)
    if agent is None:
        options = dict(tls or tls_context()) if secure else None
        if secure and u.hostname:
            options.setdefault('sni', u.hostname)
        # (read_timeout: a long poll is silent for up to the 60 s the repo allows it.)
        agent = _agents[key] = Agent(host, tls=options, max_body_size=MAX_BODY, timeout=0, read_timeout=90.0)
    return agent


async def http_request(method, url, body=None, headers=None, timeout=10.0, tls=None):
    """One request: (status, body bytes). Raises RepoError on any network failure, a certificate that does not verify
    included (its reason is in the log line of connect_tls). tls: connect_tls's options for https (default:
    tls_context())."""
    u = urllib.parse.urlsplit(url)
    target = (u.path or '/') + ('?' + u.query if u.query else '')
    fields = {'host': u.netloc, 'user-agent': 'pipyx/%s' % VERSION}
    fields.update((k.lower(), v) for k, v in (headers or {}).items())
    if body is not None or method in ('POST', 'PUT'):
        fields['content-length'] = str(len(body or b''))
    try:
        response = await agent_for(url, tls).request(method, target, fields, body, timeout=timeout)
    except RequestError as e:
        raise RepoError('%s: %s' % (_origin(url), e))
    except ValueError as e:
        raise RepoError('%s: %s' % (_origin(url), e))
    return response.head.status, response.body.to_bytes()


def _origin(url):
    u = urllib.parse.urlsplit(url)
    return '%s://%s' % (u.scheme, u.netloc)


# -- the repo, reached through one or more URLs -----------------------------------------------------------------------

class Source:
    """One repo URL, http://host:port[/prefix]/repo/NAME/: where its API and its codebase live."""

    def __init__(self, url):
        u = urllib.parse.urlsplit(url.strip())
        m = re.match(r'^(.*?)/repo/(.+?)/?$', u.path)
        if u.scheme not in ('http', 'https') or not u.hostname or not m:
            raise ValueError('not a repo URL (http://HOST:PORT/repo/NAME/): %s' % url)
        self.url = url.strip()
        self.base = '%s://%s%s' % (u.scheme, u.netloc, m.group(1))
        self.name = m.group(2)
        self.host_port = '%s_%s' % (u.hostname, u.port or (443 if u.scheme == 'https' else 80))

    def codebase_url(self, tail=''):
        return '%s/repo/%s/%s' % (self.base, urllib.parse.quote(self.name), tail)


class Repo:
    """The client side of the repo's worker API, with failover: each call starts at the URL that last answered and
    moves on to the next when one fails. An outage (every URL failing) is logged once, and its end once."""

    def __init__(self, urls, token=None, ca_file=None):
        self.sources = [Source(u) for u in urls.split(',') if u.strip()]
        if not self.sources:
            raise ValueError('no repo URL given')
        self.token = token
        # Made once (loading the CA store is not free), and now: an unreadable --repo-ca is an error at start.
        self.tls = tls_context(ca_file) if ca_file or any(s.url.startswith('https:') for s in self.sources) else None
        self.current = 0
        self.down = None             # the error of the outage in progress, already logged
        self.log_outages = True      # off for one-shot uses (--verify), which report the error themselves

    @property
    def name(self):
        return self.sources[self.current].name

    async def call(self, method, url_of, body=None, timeout=10.0, ok=(200,)):
        """Sends the request url_of(source) builds to each URL in turn; returns the body of the first answer in ok.
        404 is NotFound (the repo is there, the thing is not); anything else counts as that URL failing."""
        headers = {'Accept': 'application/json'}
        if self.token:
            headers['Authorization'] = 'Bearer ' + self.token
        if body is not None:
            headers['Content-Type'] = 'application/json'
        errors = []
        n = len(self.sources)
        for i in range(n):
            index = (self.current + i) % n
            source = self.sources[index]
            try:
                status, data = await http_request(method, url_of(source), body, headers, timeout, self.tls)
            except RepoError as e:
                errors.append(str(e))
                continue
            if status == 404:
                self._up(index)
                raise NotFound(url_of(source))
            if status not in ok:
                errors.append('%s answered %d: %s' % (source.base, status, data[:200].decode('utf-8', 'replace')))
                continue
            self._up(index)
            return data
        error = '; '.join(errors)
        if self.down is None and self.log_outages:
            log.warning('repo unreachable (%s); keeping the running version and retrying', error)
        self.down = error
        raise RepoError(error)

    def _up(self, index):
        if self.down is not None:
            log.info('repo reachable again at %s', self.sources[index].base)
            self.down = None
        self.current = index

    async def manifest(self, since=None, wait=None):
        """The latest version's manifest; with since and wait, held by the repo until a version newer than since."""
        query = ''
        if since is not None and wait:
            query = '?' + urllib.parse.urlencode({'since': since, 'wait': int(wait)})
        data = await self.call('GET', lambda s: s.codebase_url(query),
                               timeout=(wait or 0) + 10.0)
        m = json.loads(data)
        if not isinstance(m, dict) or not isinstance(m.get('version'), int) or not isinstance(m.get('files'), dict):
            raise RepoError('the repo sent a manifest without version or files')
        return m

    async def file(self, manifest, path, digest):
        """A file's bytes: by hash, or by path and version if the repo has no blob endpoint for it."""
        try:
            return await self.call('GET', lambda s: '%s/api/v1/blobs/%s' % (s.base, digest), timeout=60.0)
        except NotFound:
            query = '?' + urllib.parse.urlencode({'version': manifest['version']})
            return await self.call('GET', lambda s: s.codebase_url(urllib.parse.quote(path) + query), timeout=60.0)

    async def report(self, instance_id, state):
        body = json.dumps(state).encode()
        await self.call('POST', lambda s: '%s/api/v1/instances/%s' % (s.base, urllib.parse.quote(instance_id)),
                        body, timeout=5.0, ok=(200, 201, 204))


# -- the local cache ---------------------------------------------------------------------------------------------------

def default_cache_dir(repo):
    return os.path.join(os.path.expanduser('~'), '.cache', 'pipyx', repo.sources[0].host_port,
                        repo.sources[0].name.replace('/', '_'))


def safe_path(path):
    """A manifest path made relative and checked not to leave the version directory."""
    parts = [p for p in path.replace('\\', '/').split('/') if p not in ('', '.')]
    if not parts or '..' in parts:
        raise RepoError('the repo sent an unsafe file path: %r' % path)
    return os.path.join(*parts)


class Cache:
    def __init__(self, root):
        self.root = root
        self.blobs = os.path.join(root, 'blobs')
        os.makedirs(self.blobs, exist_ok=True)

    def version_dir(self, n):
        return os.path.join(self.root, 'v%d' % n)

    def has_version(self, n):
        return os.path.isdir(self.version_dir(n))

    def same_content(self, n, manifest):
        try:
            with open(self.version_dir(n) + '.json') as f:
                old = json.load(f)
        except (OSError, ValueError):
            return False
        return old.get('files') == manifest.get('files') and old.get('entry') == manifest.get('entry')

    def latest(self):
        """The newest complete version in the cache and its manifest, or (None, None): what to run when the repo
        cannot be reached at start."""
        found = []
        for name in os.listdir(self.root):
            m = re.match(r'^v(\d+)$', name)
            if m and os.path.isfile(os.path.join(self.root, name + '.json')):
                found.append(int(m.group(1)))
        for n in sorted(found, reverse=True):
            try:
                with open(os.path.join(self.root, 'v%d.json' % n)) as f:
                    return n, json.load(f)
            except (OSError, ValueError):
                continue
        return None, None

    async def materialise(self, repo, manifest):
        """Makes v<N>/ from the manifest, downloading only the blobs the cache lacks; returns its path."""
        n = manifest['version']
        target = self.version_dir(n)
        if self.has_version(n):
            if self.same_content(n, manifest):
                return target
            # The same number with other files: another repo's history (after a failover). The number names a
            # directory, the manifest says what is in it: build it anew.
            stale = '%s.stale-%d' % (target, os.getpid())
            os.rename(target, stale)
            shutil.rmtree(stale, ignore_errors=True)
        files = {safe_path(p): (p, str(d).lower()) for p, d in manifest['files'].items()}
        for rel, (path, digest) in files.items():
            blob = os.path.join(self.blobs, digest)
            if os.path.isfile(blob):
                continue
            if not re.match(r'^[0-9a-f]{64}$', digest):
                raise RepoError('the repo sent a bad hash for %s: %r' % (path, digest))
            data = await repo.file(manifest, path, digest)
            if hashlib.sha256(data).hexdigest() != digest:
                raise RepoError('%s of version %d does not match its sha256' % (path, n))
            _write_atomically(blob, data)
        # Build the version beside its final name and rename it into place: another worker process sharing the cache,
        # or a crash halfway, never sees a partial v<N>/.
        tmp = '%s.tmp-%d' % (target, os.getpid())
        shutil.rmtree(tmp, ignore_errors=True)
        for rel, (path, digest) in files.items():
            dest = os.path.join(tmp, rel)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copyfile(os.path.join(self.blobs, digest), dest)
        os.makedirs(tmp, exist_ok=True)
        _write_atomically(target + '.json', json.dumps(manifest).encode())
        try:
            os.rename(tmp, target)
        except OSError:
            if not self.has_version(n):
                raise
            shutil.rmtree(tmp, ignore_errors=True)     # another process finished it first
        return target

    def prune(self, running):
        """Drops old version directories, keeping the running one and the few newest."""
        versions = sorted(int(m.group(1)) for m in (re.match(r'^v(\d+)$', x) for x in os.listdir(self.root)) if m)
        for n in versions[:-KEEP_VERSIONS]:
            if n != running:
                shutil.rmtree(self.version_dir(n), ignore_errors=True)
                try:
                    os.remove(self.version_dir(n) + '.json')
                except OSError:
                    pass


def _write_atomically(path, data):
    tmp = '%s.tmp-%d' % (path, os.getpid())
    with open(tmp, 'wb') as f:
        f.write(data)
    os.replace(tmp, path)


# -- the worker's side: what runs, what is reported -------------------------------------------------------------------

class RemoteApp:
    def __init__(self, urls, cache_dir=None, token=None, poll_interval=None, ca_file=None):
        self.repo = Repo(urls, token, ca_file)
        self.cache = Cache(cache_dir or default_cache_dir(self.repo))
        self.poll_interval = poll_interval
        # The repo takes ids of A-Z a-z 0-9 . _ : @ - only.
        self.instance_id = '%s-%d' % (re.sub(r'[^A-Za-z0-9._:@-]', '_', socket.gethostname())[:100], os.getpid())
        self.started = time.time()
        self.running = None          # version number being served
        self.manifest = None         # and its manifest
        self.seen = None             # newest version looked at, loaded or not: what the long-poll waits past
        self.status = 'starting'
        self.error = None
        self.worker = None
        self.fetch_error = None      # the last download error logged, so a retry loop logs it once
        self.changed = asyncio.Event()

    # -- loading ---------------------------------------------------------------------------------------------------

    def load(self, n, manifest):
        """Loads version n from its cache dir; a ScriptError names the file relative to the version (main.py:3)."""
        vdir = self.cache.version_dir(n)
        entry = manifest.get('entry') or 'main.py'
        self.forget_other_versions(vdir)
        try:
            return load_program(os.path.join(vdir, safe_path(entry)))
        except ScriptError as e:
            if e.filename and e.filename.startswith(vdir + os.sep):
                e.filename = os.path.relpath(e.filename, vdir)
            raise

    def forget_other_versions(self, vdir):
        """Python modules a script imports are cached in sys.modules and found through sys.path: without this, a
        new version would import its helper modules from the previous version's directory. Programs already
        running keep the module objects they hold."""
        root = os.path.join(self.cache.root, '')
        keep = os.path.join(vdir, '')
        sys.path[:] = [p for p in sys.path if not (p + os.sep).startswith(root) or (p + os.sep).startswith(keep)]
        for name, module in list(sys.modules.items()):
            f = getattr(module, '__file__', None) or ''
            if f.startswith(root) and not f.startswith(keep):
                del sys.modules[name]

    def entry_of(self, n, manifest):
        return os.path.join(self.cache.version_dir(n), safe_path(manifest.get('entry') or 'main.py'))

    async def fetch(self, manifest):
        """Downloads and loads a version: the Program, or raises RepoError (retry later) / ScriptError (broken)."""
        n = manifest['version']
        try:
            await self.cache.materialise(self.repo, manifest)
        except RepoError as e:
            # An outage is logged by Repo. A bad download (hash mismatch, unsafe path) is not an outage: log it,
            # once while it keeps failing the same way, since the caller retries.
            if self.repo.down is None and str(e) != self.fetch_error:
                log.warning('cannot fetch version %d: %s; retrying', n, e)
            self.fetch_error = str(e)
            raise
        self.fetch_error = None
        return self.load(n, manifest)

    async def first_program(self):
        """What to serve at start: the repo's latest version; while the repo is unreachable, the newest version in
        the cache if there is one; otherwise retries until the repo answers with a version that loads."""
        delay = 0.5
        fallback_tried = False
        waiting_logged = False
        while True:
            try:
                # since=0 is "nothing published yet": the repo holds the request until the first publish.
                manifest = await self.repo.manifest(0, LONG_POLL_WAIT if self.poll_interval is None else None)
                self.seen = manifest['version']
                program = await self.fetch(manifest)
                self._switched(manifest)
                return program
            except ScriptError as e:
                self._failed(self.seen, e)
                try:                 # the reporter does not run before something serves: tell the repo here
                    await self.repo.report(self.instance_id, self.state(None))
                except (RepoError, NotFound):
                    pass
                await self._wait_newer()
                continue
            except NotFound:
                if not waiting_logged:
                    log.warning('nothing published yet for %s; waiting', self.repo.name)
                    waiting_logged = True
            except RepoError:
                if not fallback_tried:
                    fallback_tried = True
                    n, manifest = self.cache.latest()
                    if n is not None:
                        try:
                            program = self.load(n, manifest)
                            log.info('running version %d from the cache until the repo answers', n)
                            self.seen = n
                            self._switched(manifest)
                            return program
                        except ScriptError as e:
                            log.error('cached version %d does not load: %s', n, e)
            await asyncio.sleep(delay)
            delay = min(BACKOFF_MAX, delay * 2)

    async def _wait_newer(self):
        """Before anything runs: waits for a version newer than the broken one."""
        delay = 0.5
        while True:
            try:
                m = await self.repo.manifest(self.seen, LONG_POLL_WAIT if self.poll_interval is None else None)
                if m['version'] != self.seen:
                    return
                delay = 0.5
                await asyncio.sleep(self.poll_interval or 0.5)
            except (RepoError, NotFound):
                await asyncio.sleep(delay)
                delay = min(BACKOFF_MAX, delay * 2)

    def _switched(self, manifest):
        self.running, self.manifest = manifest['version'], manifest
        self.status, self.error = 'running', None
        self.changed.set()
        self.cache.prune(self.running)

    def _failed(self, n, e):
        log.error('version %s failed to load, %s: %s', n,
                  'still running version %s' % self.running if self.running is not None else 'nothing running', e)
        self.status, self.error = 'failed', 'version %s: %s' % (n, e)
        self.changed.set()

    # -- background tasks for Worker.run -----------------------------------------------------------------------------

    async def follow(self, worker):
        """Waits for new versions and switches the worker to each one that loads."""
        self.worker = worker
        self.changed.set()
        delay = 0.5
        while True:
            t0 = time.monotonic()
            try:
                if self.poll_interval is None:
                    manifest = await self.repo.manifest(self.seen, LONG_POLL_WAIT)
                else:
                    manifest = await self.repo.manifest()
            except (RepoError, NotFound):
                await asyncio.sleep(delay)
                delay = min(BACKOFF_MAX, delay * 2)
                continue
            n = manifest['version']
            if n == self.seen:
                delay = 0.5
                # Unchanged. A repo that answers a long-poll at once (or short polling) must not make this spin.
                pause = self.poll_interval if self.poll_interval is not None else 0.5
                await asyncio.sleep(max(0.0, pause - (time.monotonic() - t0)))
                continue
            if await self.switch(worker, manifest):
                delay = 0.5
            else:                    # the download failed: self.seen is unchanged, so the next round tries again
                await asyncio.sleep(delay)
                delay = min(BACKOFF_MAX, delay * 2)

    async def switch(self, worker, manifest):
        """Downloads, loads and switches to a version. False when it could not be downloaded (worth retrying);
        True when it is dealt with: switched to, or found broken and reported."""
        n = manifest['version']
        try:
            program = await self.fetch(manifest)
            await worker.apply(program)
        except RepoError:
            return False
        except (ScriptError, OSError) as e:
            self.seen = n            # don't try this version again: wait for a newer one
            self._failed(n, e)
            return True
        self.seen = n
        entry = self.entry_of(n, manifest)
        worker.load = lambda: load_program(entry)      # SIGHUP reloads the running version's local copy
        log.info('switched to version %d of %s', n, self.repo.name)
        self._switched(manifest)
        return True

    async def reporter(self, worker):
        """Reports this instance on start, after each switch or failure, and every HEARTBEAT seconds."""
        while True:
            try:
                await asyncio.wait_for(self.changed.wait(), HEARTBEAT)
            except asyncio.TimeoutError:
                pass
            self.changed.clear()
            try:
                await self.repo.report(self.instance_id, self.state(worker))
            except (RepoError, NotFound):
                pass                 # the outage is logged by Repo; the next heartbeat tries again

    def state(self, worker):
        return {'codebase': self.repo.name, 'version': self.running, 'address': ','.join(worker.addresses()) if worker else '',
                'pid': os.getpid(), 'started': self.started, 'status': self.status, 'error': self.error}


async def run(app, make_worker):
    """The whole life of a repo-fed worker: first version, then serving while following the repo. make_worker(entry)
    builds the Worker, given the local path SIGHUP reloads."""
    program = await app.first_program()
    worker = make_worker(app.entry_of(app.running, app.manifest))
    await worker.run(program, background=(app.follow, app.reporter))
