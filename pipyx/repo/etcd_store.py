"""A Store kept in etcd v3, so that several repo servers serve one fleet: `--repo-store etcd://HOST:PORT/PREFIX`.

Client: `aetcd` (PyPI, gRPC). Of the etcd clients on PyPI it is the one that works here with Python 3.11 and a
current protobuf: `etcd3` (python-etcd3) fails to import with protobuf >= 4 ("Descriptors cannot be created
directly") and has had no release since 2020; `etcd3-py` has had none since 2019 and takes the same import name.
aetcd is asyncio-only while the Store interface is synchronous (the API calls it from one worker thread), so the
store owns a private event loop on its own thread and each method runs one coroutine there and waits for it.

Keys, under the prefix P (`/PREFIX/`):

    P cb/NAME                {"base","entry","created","updated"}    a codebase and its draft entry
    P draft/NAME/PATH        sha256                                   a draft file
    P ver/NAME/0000000007    {"entry","own_entry","published","files":{path: sha},"own":[paths]}   a version
    P latest/NAME            "7"                                      the latest version: the publish guard
    P blob/SHA               number of chunks                         written last: a blob is complete once here
    P chunk/SHA/0003         up to CHUNK bytes                        etcd refuses requests over ~1.5 MiB
    P inst/ID                {fields..., "last_seen"}                 a worker's report

Every operation reads at one etcd revision (a consistent snapshot, like SQLite's read transaction) and writes in
one txn guarded by `mod_revision == what was read` for each single key it read: if another server changed one of
them in between, the txn fails and the operation runs again on fresh data. Publishing guards `latest/NAME`, so
two servers can never both publish the same version number, and the version, the latest pointer and every derived
codebase's republish land together or not at all.
"""
import asyncio
import json
import threading
import urllib.parse

from .store import (INSTANCE_FIELDS, SHA256_RE, Conflict, NotFound, Store, check_name, check_path,
                    check_instance, compose_version, now, sha256)

CHUNK = 1 << 20              # etcd's default --max-request-bytes is 1.5 MiB
RETRIES = 50                 # optimistic txns retried this often before giving up
TIMEOUT = 10.0               # seconds for one etcd call


def parse_url(url):
    """'etcd://host:port/prefix' -> (host, port, b'/prefix/')."""
    u = urllib.parse.urlsplit(url)
    if u.scheme != 'etcd' or not u.hostname:
        raise ValueError('not an etcd store URL (etcd://HOST:PORT/PREFIX): %s' % url)
    prefix = u.path.strip('/')
    return u.hostname, u.port or 2379, ('/%s/' % prefix if prefix else '/').encode()


def _range_end(prefix):
    # The first key after every key starting with prefix: its last byte plus one (prefixes here end in '/').
    return prefix[:-1] + bytes([prefix[-1] + 1])


class _View:
    """The reads of one operation, all at the revision of its first read, and the mod_revisions the txn guards."""

    def __init__(self, store):
        self.store = store
        self.revision = 0
        self.guards = {}             # key -> mod_revision seen (0: absent)
        self._cache = {}

    async def _range(self, key, end=b''):
        header_rev, kvs = await self.store._range(key, end, self.revision)
        if not self.revision:
            self.revision = header_rev
        return kvs

    async def get(self, key):
        """A key's value (None if absent); the write will be refused if it changes meanwhile."""
        if key not in self._cache:
            kvs = await self._range(key)
            self._cache[key] = kvs[0].value if kvs else None
            self.guards[key] = kvs[0].mod_revision if kvs else 0
        return self._cache[key]

    async def prefix(self, prefix):
        """[(key without the prefix, value)] sorted by key. Not guarded: writes that matter also touch a guarded key."""
        return [(kv.key[len(prefix):].decode(), kv.value) for kv in await self._range(prefix, _range_end(prefix))]


class EtcdStore(Store):
    def __init__(self, url):
        import aetcd                 # here, not at import: only the etcd store needs grpc and protobuf
        host, port, self.prefix = parse_url(url)
        self.url = url
        self._aetcd = aetcd
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name='pipyx-repo-etcd', daemon=True)
        self._thread.start()
        # Range answers (a codebase's versions, many files) can outgrow gRPC's default 4 MiB message limit.
        self._client = self._run(self._make_client(host, port), None)
        # {codebase: latest version} as of the last changed() or this server's own publishes. Also the first
        # etcd call: it fails now, at start, if etcd cannot be reached.
        self._known = self._latest_versions()

    async def _make_client(self, host, port):
        return self._aetcd.Client(host=host, port=port, timeout=TIMEOUT,
                                  options={'grpc.max_receive_message_length': 256 << 20})

    def _run(self, coro, timeout=TIMEOUT * 3):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def close(self):
        try:
            self._run(self._client.close(), TIMEOUT)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)

    # -- etcd calls (on the store's loop) ---------------------------------------------------------------------------

    def k(self, *parts):
        return self.prefix + '/'.join(parts).encode()

    async def _range(self, key, end=b'', revision=0, keys_only=False):
        # The raw Range call: aetcd's get_prefix() does not take a revision, which snapshot reads need.
        await self._client.connect()
        req = self._aetcd.rpc.RangeRequest(key=key, range_end=end, revision=revision, keys_only=keys_only)
        resp = await self._client.kvstub.Range(req, timeout=TIMEOUT)
        return resp.header.revision, list(resp.kvs)

    async def _transact(self, fn, *args):
        """Runs fn(view, *args) -> (result, [ops]) and commits the ops guarded by what it read; again on a clash."""
        t = self._client.transactions
        for _ in range(RETRIES):
            view = _View(self)
            result, ops = await fn(view, *args)
            if not ops:
                return result
            compare = [t.mod(key) == rev for key, rev in view.guards.items()]
            ok, _ = await self._client.transaction(compare=compare, success=ops, failure=[])
            if ok:
                return result
            await asyncio.sleep(0.01)
        raise Conflict('the repo is too busy: this change kept clashing with others; try again')

    def _do(self, fn, *args):
        return self._run(self._transact(fn, *args))

    def put(self, key, value):
        return self._client.transactions.put(key, value if isinstance(value, bytes) else value.encode())

    def put_json(self, key, obj):
        return self.put(key, json.dumps(obj, separators=(',', ':')))

    def delete_prefix(self, prefix):
        return self._client.transactions.delete(prefix, _range_end(prefix))

    # -- reads shared by the operations (inside a view) --------------------------------------------------------------

    async def _meta(self, view, name):
        raw = await view.get(self.k('cb', name))
        if raw is None:
            raise NotFound('no codebase named %r' % (name,))
        return json.loads(raw)

    async def _latest(self, view, name):
        raw = await view.get(self.k('latest', name))
        return int(raw) if raw else 0

    async def _version(self, view, name, n):
        # Versions never change once written: read at the view's revision, no guard needed.
        kvs = await view._range(self.k('ver', name, '%010d' % n))
        return json.loads(kvs[0].value) if kvs else None

    async def _own_draft(self, view, name):
        return {p: v.decode() for p, v in await view.prefix(self.k('draft', name, ''))}

    async def _base_published(self, view, meta):
        if not meta['base']:
            return {}, None
        n = await self._latest(view, meta['base'])
        if not n:
            return {}, None
        v = await self._version(view, meta['base'], n)
        return v['files'], v['entry']

    async def _draft(self, view, name, meta):
        files, base_entry = await self._base_published(view, meta)
        files = dict(files)
        files.update(await self._own_draft(view, name))
        return files, meta['entry'] or base_entry

    async def _summary(self, view, name, meta):
        _, entry = await self._draft(view, name, meta)
        return {'name': name, 'base': meta['base'], 'entry': entry, 'version': await self._latest(view, name),
                'updated': meta['updated']}

    async def _touched(self, view, name, meta, **changes):
        meta = dict(meta, updated=now(), **changes)
        return self.put_json(self.k('cb', name), meta)

    # -- codebases --------------------------------------------------------------------------------------------------

    def list_codebases(self):
        async def op(view):
            return [await self._summary(view, n, json.loads(v)) for n, v in await view.prefix(self.k('cb', ''))], []
        return self._do(op)

    def get_codebase(self, name):
        async def op(view):
            meta = await self._meta(view, name)
            info = await self._summary(view, name, meta)
            files, entry = await self._draft(view, name, meta)
            info['files'] = sorted(files)
            if info['version']:
                v = await self._version(view, name, info['version'])
                info['draft'] = files != v['files'] or entry != v['entry']
            else:
                info['draft'] = bool(meta['entry']) or bool(await self._own_draft(view, name))
            return info, []
        return self._do(op)

    def create_codebase(self, name, base=None):
        check_name(name)
        if base is not None:
            check_name(base)

        async def op(view):
            if await view.get(self.k('cb', name)) is not None:
                raise Conflict('codebase %r exists' % name)
            if base is not None:
                await self._meta(view, base)         # guarded: a base deleted meanwhile makes this run again
            t = now()
            meta = {'base': base, 'entry': None, 'created': t, 'updated': t}
            return await self._summary(view, name, meta), [self.put_json(self.k('cb', name), meta)]
        return self._do(op)

    def delete_codebase(self, name):
        async def op(view):
            await self._meta(view, name)
            derived = sorted(n for n, v in await view.prefix(self.k('cb', '')) if json.loads(v)['base'] == name)
            if derived:
                raise Conflict('codebase %r is the base of %s; delete those first' % (name, ', '.join(derived)))
            # Blobs stay: another server may be about to refer to one, and etcd has no cheap "unreferenced" query.
            return None, [self._client.transactions.delete(self.k('cb', name)),
                          self._client.transactions.delete(self.k('latest', name)),
                          self.delete_prefix(self.k('draft', name, '')), self.delete_prefix(self.k('ver', name, ''))]
        self._do(op)
        self._known.pop(name, None)              # the API answers its own held polls on it

    # -- draft files --------------------------------------------------------------------------------------------------

    def read_file(self, name, path):
        check_path(path)

        async def op(view):
            files, _ = await self._draft(view, name, await self._meta(view, name))
            if path not in files:
                raise NotFound('codebase %r has no file %r' % (name, path))
            return files[path], []
        return self.read_blob(self._do(op))

    def write_file(self, name, path, data):
        check_path(path)
        data = bytes(data)
        sha = sha256(data)
        self._run(self._put_blob(sha, data), None)

        async def op(view):
            meta = await self._meta(view, name)
            return sha, [self.put(self.k('draft', name, path), sha), await self._touched(view, name, meta)]
        return self._do(op)

    async def _put_blob(self, sha, data):
        """Chunks first, then the blob key: a reader that finds the key finds every chunk. Content-addressed, so
        writing one twice (two servers, a retry) is harmless."""
        _, kvs = await self._range(self.k('blob', sha), keys_only=True)
        if kvs:
            return
        n = max(1, -(-len(data) // CHUNK))
        for i in range(n):
            await self._client.put(self.k('chunk', sha, '%04d' % i), data[i * CHUNK:(i + 1) * CHUNK])
        await self._client.put(self.k('blob', sha), str(n).encode())

    def delete_file(self, name, path):
        check_path(path)

        async def op(view):
            meta = await self._meta(view, name)
            key = self.k('draft', name, path)
            if await view.get(key) is None:
                base_files, _ = await self._base_published(view, meta)
                if path in base_files:
                    raise Conflict('%r is inherited from base %r; delete it there, or override it'
                                   % (path, meta['base']))
                raise NotFound('codebase %r has no file %r' % (name, path))
            return None, [self._client.transactions.delete(key), await self._touched(view, name, meta)]
        self._do(op)

    def set_entry(self, name, path):
        check_path(path)

        async def op(view):
            meta = await self._meta(view, name)
            files, _ = await self._draft(view, name, meta)
            if path not in files:
                raise ValueError('entry %r is not a file of codebase %r' % (path, name))
            put = await self._touched(view, name, meta, entry=path)
            return await self._summary(view, name, dict(meta, entry=path)), [put]
        return self._do(op)

    # -- versions -------------------------------------------------------------------------------------------------

    def publish(self, name):
        async def op(view):
            published, ops = {}, []
            metas = {n: json.loads(v) for n, v in await view.prefix(self.k('cb', ''))}
            if name not in metas:
                raise NotFound('no codebase named %r' % (name,))
            await self._meta(view, name)             # guards the draft entry and (through `updated`) its files
            await self._publish(view, metas, name, True, {}, published, ops)
            return published, ops
        published = self._do(op)
        # The API wakes its own long polls on these: changed() must not report them again (a poll held since
        # would be answered early, with the version it already has).
        self._known.update(published)
        return published

    async def _publish(self, view, metas, name, from_draft, new_files, published, ops):
        """Appends the ops publishing name (and, recursively, what derives from it). new_files: {codebase:
        (files, entry)} of versions made earlier in this same txn, which the view cannot see yet."""
        meta = metas[name]
        latest = await self._latest(view, name)     # guarded: the compare that makes each number unique
        if meta['base'] in new_files:
            base_files, base_entry = new_files[meta['base']]
        else:
            base_files, base_entry = await self._base_published(view, meta)
        if from_draft:
            own, own_entry = await self._own_draft(view, name), meta['entry']
        else:
            last = await self._version(view, name, latest)
            own = {p: last['files'][p] for p in last['own']}
            own_entry = last['own_entry']
        files, entry = compose_version(name, base_files, base_entry, own, own_entry)
        version, t = latest + 1, now()
        ops.append(self.put_json(self.k('ver', name, '%010d' % version),
                                 {'entry': entry, 'own_entry': own_entry, 'published': t, 'files': files,
                                  'own': sorted(own)}))
        ops.append(self.put(self.k('latest', name), str(version)))
        ops.append(self.put_json(self.k('cb', name), dict(meta, updated=t)))
        published[name] = version
        new_files[name] = (files, entry)
        for d in sorted(n for n, m in metas.items() if m['base'] == name):
            if await self._latest(view, d):
                try:
                    await self._publish(view, metas, d, False, new_files, published, ops)
                except ValueError:
                    pass             # the new base took away its entry: it keeps its last version

    def list_versions(self, name):
        async def op(view):
            await self._meta(view, name)
            out = []
            for key, raw in await view.prefix(self.k('ver', name, '')):
                v = json.loads(raw)
                out.append({'version': int(key), 'published': v['published'], 'entry': v['entry']})
            return out, []
        return self._do(op)

    def get_version(self, name, version=None):
        async def op(view):
            await self._meta(view, name)
            n = version
            if n is None:
                n = await self._latest(view, name)
                if not n:
                    raise NotFound('codebase %r has no published version' % name)
            v = await self._version(view, name, n)
            if v is None:
                raise NotFound('codebase %r has no version %s' % (name, n))
            return {'name': name, 'version': n, 'entry': v['entry'], 'files': v['files']}, []
        return self._do(op)

    def file_map(self, name, version):
        async def op(view):
            meta = await self._meta(view, name)
            if version == 'draft':
                return (await self._draft(view, name, meta))[0], []
            if version == 0:
                return {}, []
            v = await self._version(view, name, version)
            if v is None:
                raise NotFound('codebase %r has no version %s' % (name, version))
            return v['files'], []
        return self._do(op)

    def read_blob(self, sha):
        if not isinstance(sha, str) or not SHA256_RE.match(sha):
            raise ValueError('a blob is named by 64 lower-case hex digits, not %r' % (sha,))

        async def op(view):
            n = await view.get(self.k('blob', sha))
            if n is None:
                raise NotFound('no blob %s' % sha)
            # One chunk per call: a whole blob in one answer could pass gRPC's message limit.
            parts = [await view._range(self.k('chunk', sha, '%04d' % i)) for i in range(int(n))]
            return b''.join(kvs[0].value for kvs in parts), []
        return self._do(op)

    # -- instances ------------------------------------------------------------------------------------------------

    @staticmethod
    def _instance(instance_id, stored):
        info = {k: None for k in INSTANCE_FIELDS}
        info.update(stored)
        info['id'] = instance_id
        return {k: info.get(k) for k in ('id',) + INSTANCE_FIELDS[:5] + ('last_seen',) + INSTANCE_FIELDS[5:]}

    def list_instances(self):
        async def op(view):
            return [self._instance(i, json.loads(v)) for i, v in await view.prefix(self.k('inst', ''))], []
        return self._do(op)

    def upsert_instance(self, instance_id, fields):
        check_instance(instance_id, fields)

        async def op(view):
            key = self.k('inst', instance_id)
            raw = await view.get(key)
            stored = json.loads(raw) if raw else {}
            stored.update({k: fields[k] for k in INSTANCE_FIELDS if k in fields})
            stored['last_seen'] = now()
            return self._instance(instance_id, stored), [self.put_json(key, stored)]
        return self._do(op)

    # -- wake-ups across servers ----------------------------------------------------------------------------------

    def _latest_versions(self):
        prefix = self.k('latest', '')
        _, kvs = self._run(self._range(prefix, _range_end(prefix)))
        return {kv.key[len(prefix):].decode(): int(kv.value) for kv in kvs}

    def changed(self):
        """The codebases whose latest version changed (or that went away) since the last call, through another
        server. Polled every half second by the server rather than an etcd watch: a poll cannot stall silently
        when etcd restarts or the connection drops, and it costs one small range."""
        # Every long poll on a codebase waits on one event, so a wake is for all of them: a poll that started on
        # this server in the half second between another server's publish and this call is answered early, with
        # the version it has (its client asks again). Waking less could leave a poll on an older version held.
        now_known = self._latest_versions()
        before, self._known = self._known, now_known
        return sorted(n for n in set(before) | set(now_known) if before.get(n) != now_known.get(n))
