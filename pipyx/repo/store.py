"""The repo's storage: codebases, their draft files, published versions, content-addressed blobs, instances.

`Store` is the narrow interface the HTTP API uses; `SQLiteStore` implements it on one SQLite file (an etcd store is
meant to implement the same methods later). Every method is synchronous and returns plain dicts/lists/bytes; errors
are `ValueError` (bad input, 400), `NotFound` (404) and `Conflict` (409).

Model. A codebase has a name, an optional `base` codebase, an `entry` path, draft files (edited, not yet published)
and versions 1, 2, ... A version is an immutable snapshot {path: sha256} of the codebase's *effective* files: the
base's latest published files overlaid with the codebase's own. Publishing a base also republishes every codebase
derived from it that has been published before (its own files as last published, over the base's new ones), in the
same transaction, so a derived codebase never runs a stale copy of its base.
"""
import hashlib
import json
import os
import re
import sqlite3
import threading
import time
from contextlib import contextmanager

NAME_RE = re.compile(r'[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z')
INSTANCE_ID_RE = re.compile(r'[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}\Z')
SHA256_RE = re.compile(r'[0-9a-f]{64}\Z')
INSTANCE_FIELDS = ('codebase', 'version', 'address', 'pid', 'started', 'status', 'error')



def check_instance(instance_id, fields):
    """An instance report as every store accepts it: a well-formed id, and known fields of simple types."""
    if not isinstance(instance_id, str) or not INSTANCE_ID_RE.match(instance_id):
        raise ValueError('invalid instance id %r: 1-128 of A-Z a-z 0-9 . _ : @ -' % (instance_id,))
    if not isinstance(fields, dict):
        raise ValueError('an instance report is a JSON object')
    for k in INSTANCE_FIELDS:
        if k in fields and not isinstance(fields[k], (str, int, float, type(None))):
            raise ValueError('instance field %r must be a string, a number or null' % k)


def compose_version(name, base_files, base_entry, own, own_entry):
    """What a publish snapshots: the base's files overlaid with the codebase's own; its own entry, else the base's.
    Shared by every store so that they agree on inheritance."""
    files = dict(base_files)
    files.update(own)
    entry = own_entry or base_entry
    if not entry:
        raise ValueError('codebase %r has no entry: set one before publishing' % name)
    if entry not in files:
        raise ValueError('entry %r of codebase %r is not one of its files' % (entry, name))
    return files, entry

class NotFound(LookupError):
    """Something named in the request does not exist (404)."""


class Conflict(Exception):
    """The request contradicts the repo's state: a name taken, a base still in use (409)."""


def check_name(name):
    """Returns name if it is a valid codebase name, else raises ValueError."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ValueError('invalid codebase name %r: 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit'
                         % (name,))
    return name


def check_path(path):
    """Returns path if it is a safe relative file path, else raises ValueError.

    Workers write these paths under their own directory, so anything that could climb out of it or alias another
    path ('..', '.', absolute, backslash, empty segments) is refused here, once, for every store."""
    if not isinstance(path, str) or not path:
        raise ValueError('a file path must be a non-empty string')
    if len(path) > 255:
        raise ValueError('file path longer than 255 characters')
    if path.startswith('/'):
        raise ValueError('file path %r is absolute; give it relative to the codebase' % path)
    if '\\' in path:
        raise ValueError('file path %r contains a backslash; use /' % path)
    if any(ord(c) < 32 or ord(c) == 127 for c in path):
        raise ValueError('file path %r contains a control character' % path)
    for seg in path.split('/'):
        if seg == '':
            raise ValueError('file path %r has an empty segment' % path)
        if seg in ('.', '..'):
            raise ValueError('file path %r contains a %r segment' % (path, seg))
    return path


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def now():
    """Timestamps are Unix seconds (float, millisecond precision) everywhere in the repo."""
    return round(time.time(), 3)


class Store:
    """What the API needs from a store. Each method is one consistent read or one atomic write."""

    def list_codebases(self):
        """[{"name","base","entry","version","updated"}] sorted by name; version 0 if never published."""
        raise NotImplementedError

    def get_codebase(self, name):
        """{"name","base","entry","version","updated","files":[effective draft paths],"draft":bool}."""
        raise NotImplementedError

    def create_codebase(self, name, base=None):
        raise NotImplementedError

    def delete_codebase(self, name):
        raise NotImplementedError

    def read_file(self, name, path):
        """The bytes of path in the codebase's draft view (own files over the base's published ones)."""
        raise NotImplementedError

    def write_file(self, name, path, data):
        raise NotImplementedError

    def delete_file(self, name, path):
        raise NotImplementedError

    def set_entry(self, name, path):
        raise NotImplementedError

    def publish(self, name):
        """Publishes the draft as a new version; returns {codebase: new version} for it and every derived codebase
        republished with it."""
        raise NotImplementedError

    def list_versions(self, name):
        """[{"version","published","entry"}] oldest first."""
        raise NotImplementedError

    def get_version(self, name, version=None):
        """{"name","version","entry","files":{path: sha256}} of a version (the latest if None). NotFound if the
        codebase or the version does not exist, or nothing is published."""
        raise NotImplementedError

    def file_map(self, name, version):
        """{path: sha256} of a version number, of 'draft', or {} for version 0."""
        raise NotImplementedError

    def read_blob(self, sha):
        raise NotImplementedError

    def list_instances(self):
        raise NotImplementedError

    def upsert_instance(self, instance_id, fields):
        raise NotImplementedError

    def changed(self):
        """Names of codebases whose latest version changed since the last call, through any server sharing this
        store. The server polls it to wake its long polls; a store only one server uses needs none: [] ."""
        return []

    def close(self):
        pass


SCHEMA = """
CREATE TABLE IF NOT EXISTS codebases (
    name TEXT PRIMARY KEY, base TEXT REFERENCES codebases(name), entry TEXT, created REAL, updated REAL);
CREATE TABLE IF NOT EXISTS draft_files (
    codebase TEXT NOT NULL, path TEXT NOT NULL, sha TEXT NOT NULL, PRIMARY KEY (codebase, path));
CREATE TABLE IF NOT EXISTS versions (
    codebase TEXT NOT NULL, version INTEGER NOT NULL, entry TEXT NOT NULL, own_entry TEXT, published REAL,
    PRIMARY KEY (codebase, version));
CREATE TABLE IF NOT EXISTS version_files (
    codebase TEXT NOT NULL, version INTEGER NOT NULL, path TEXT NOT NULL, sha TEXT NOT NULL,
    inherited INTEGER NOT NULL, PRIMARY KEY (codebase, version, path));
CREATE TABLE IF NOT EXISTS blobs (sha TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS instances (id TEXT PRIMARY KEY, fields TEXT NOT NULL, last_seen REAL);
"""


class SQLiteStore(Store):
    """A Store on one SQLite file. WAL with synchronous=FULL: a write is on disk before it is acknowledged, so it
    survives the process being killed. One connection behind a lock: callers may come from any thread (the API
    calls it from one worker thread so fsyncs do not stall the event loop)."""

    def __init__(self, path):
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        # isolation_level=None: transactions are begun and ended here, explicitly, not by the sqlite3 module.
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)
        self._db.row_factory = sqlite3.Row
        self._db.execute('PRAGMA journal_mode=WAL')
        self._db.execute('PRAGMA synchronous=FULL')
        self._db.execute('PRAGMA foreign_keys=ON')
        self._db.executescript(SCHEMA)

    def close(self):
        with self._lock:
            self._db.close()

    @contextmanager
    def _txn(self, write):
        # BEGIN IMMEDIATE takes the write lock up front, so a write never fails half-way on a busy database;
        # a plain BEGIN gives reads one consistent snapshot across their several SELECTs.
        with self._lock:
            db = self._db
            db.execute('BEGIN IMMEDIATE' if write else 'BEGIN')
            try:
                yield db
            except BaseException:
                db.execute('ROLLBACK')
                raise
            db.execute('COMMIT')

    # -- helpers (inside a transaction) ---------------------------------------------------------------------------

    def _row(self, db, name):
        row = db.execute('SELECT * FROM codebases WHERE name=?', (name,)).fetchone()
        if row is None:
            raise NotFound('no codebase named %r' % (name,))
        return row

    def _latest(self, db, name):
        return db.execute('SELECT COALESCE(MAX(version), 0) FROM versions WHERE codebase=?', (name,)).fetchone()[0]

    def _version_files(self, db, name, version, own_only=False):
        sql = 'SELECT path, sha FROM version_files WHERE codebase=? AND version=?' + (
            ' AND inherited=0' if own_only else '')
        return {r[0]: r[1] for r in db.execute(sql, (name, version))}

    def _version_row(self, db, name, version):
        return db.execute('SELECT * FROM versions WHERE codebase=? AND version=?', (name, version)).fetchone()

    def _base_published(self, db, row):
        """(files, entry) of the base's latest version; ({}, None) without a base or a published one."""
        if not row['base']:
            return {}, None
        v = self._latest(db, row['base'])
        if not v:
            return {}, None
        return self._version_files(db, row['base'], v), self._version_row(db, row['base'], v)['entry']

    def _draft(self, db, row):
        """(files, entry) of the draft view: the base's published files overlaid with the codebase's own."""
        files, base_entry = self._base_published(db, row)
        files = dict(files)
        files.update((r[0], r[1]) for r in db.execute('SELECT path, sha FROM draft_files WHERE codebase=?',
                                                      (row['name'],)))
        return files, row['entry'] or base_entry

    def _summary(self, db, row):
        _, entry = self._draft(db, row)
        return {'name': row['name'], 'base': row['base'], 'entry': entry, 'version': self._latest(db, row['name']),
                'updated': row['updated']}

    def _touch(self, db, name):
        db.execute('UPDATE codebases SET updated=? WHERE name=?', (now(), name))

    def _put_blob(self, db, data):
        sha = sha256(data)
        db.execute('INSERT OR IGNORE INTO blobs (sha, data) VALUES (?, ?)', (sha, sqlite3.Binary(data)))
        return sha

    def _blob(self, db, sha):
        row = db.execute('SELECT data FROM blobs WHERE sha=?', (sha,)).fetchone()
        if row is None:
            raise NotFound('no blob %s' % sha)
        return bytes(row[0])

    # -- codebases ------------------------------------------------------------------------------------------------

    def list_codebases(self):
        with self._txn(False) as db:
            rows = db.execute('SELECT * FROM codebases ORDER BY name').fetchall()
            return [self._summary(db, r) for r in rows]

    def get_codebase(self, name):
        with self._txn(False) as db:
            row = self._row(db, name)
            info = self._summary(db, row)
            files, entry = self._draft(db, row)
            info['files'] = sorted(files)
            v = info['version']
            if v:
                published = self._version_files(db, name, v)
                info['draft'] = files != published or entry != self._version_row(db, name, v)['entry']
            else:
                info['draft'] = bool(row['entry']) or db.execute(
                    'SELECT 1 FROM draft_files WHERE codebase=? LIMIT 1', (name,)).fetchone() is not None
            return info

    def create_codebase(self, name, base=None):
        check_name(name)
        if base is not None:
            check_name(base)
        with self._txn(True) as db:
            if db.execute('SELECT 1 FROM codebases WHERE name=?', (name,)).fetchone():
                raise Conflict('codebase %r exists' % name)
            if base is not None:
                self._row(db, base)
            t = now()
            db.execute('INSERT INTO codebases (name, base, entry, created, updated) VALUES (?, ?, NULL, ?, ?)',
                       (name, base, t, t))
            return self._summary(db, self._row(db, name))

    def delete_codebase(self, name):
        with self._txn(True) as db:
            self._row(db, name)
            derived = [r[0] for r in db.execute('SELECT name FROM codebases WHERE base=? ORDER BY name', (name,))]
            if derived:
                raise Conflict('codebase %r is the base of %s; delete those first' % (name, ', '.join(derived)))
            for table in ('draft_files', 'version_files', 'versions'):
                db.execute('DELETE FROM %s WHERE codebase=?' % table, (name,))
            db.execute('DELETE FROM codebases WHERE name=?', (name,))
            # Blobs are shared by content: drop only those nothing refers to any more.
            db.execute('DELETE FROM blobs WHERE sha NOT IN (SELECT sha FROM draft_files) '
                       'AND sha NOT IN (SELECT sha FROM version_files)')

    # -- draft files ----------------------------------------------------------------------------------------------

    def read_file(self, name, path):
        check_path(path)
        with self._txn(False) as db:
            files, _ = self._draft(db, self._row(db, name))
            if path not in files:
                raise NotFound('codebase %r has no file %r' % (name, path))
            return self._blob(db, files[path])

    def write_file(self, name, path, data):
        check_path(path)
        data = bytes(data)
        with self._txn(True) as db:
            self._row(db, name)
            sha = self._put_blob(db, data)
            db.execute('INSERT OR REPLACE INTO draft_files (codebase, path, sha) VALUES (?, ?, ?)', (name, path, sha))
            self._touch(db, name)
            return sha

    def delete_file(self, name, path):
        check_path(path)
        with self._txn(True) as db:
            row = self._row(db, name)
            cur = db.execute('DELETE FROM draft_files WHERE codebase=? AND path=?', (name, path))
            if cur.rowcount == 0:
                base_files, _ = self._base_published(db, row)
                if path in base_files:
                    raise Conflict('%r is inherited from base %r; delete it there, or override it'
                                   % (path, row['base']))
                raise NotFound('codebase %r has no file %r' % (name, path))
            self._touch(db, name)

    def set_entry(self, name, path):
        check_path(path)
        with self._txn(True) as db:
            row = self._row(db, name)
            files, _ = self._draft(db, row)
            if path not in files:
                raise ValueError('entry %r is not a file of codebase %r' % (path, name))
            db.execute('UPDATE codebases SET entry=?, updated=? WHERE name=?', (path, now(), name))
            return self._summary(db, self._row(db, name))

    # -- versions -------------------------------------------------------------------------------------------------

    def publish(self, name):
        with self._txn(True) as db:
            published = {}
            self._publish(db, self._row(db, name), True, published)
            return published

    def _publish(self, db, row, from_draft, published):
        name = row['name']
        latest = self._latest(db, name)
        base_files, base_entry = self._base_published(db, row)
        if from_draft:
            own = {r[0]: r[1] for r in db.execute('SELECT path, sha FROM draft_files WHERE codebase=?', (name,))}
            own_entry = row['entry']
        else:
            # Republishing over a new base version: the codebase's own files and entry as last published, not its
            # unpublished draft edits.
            own = self._version_files(db, name, latest, own_only=True)
            own_entry = self._version_row(db, name, latest)['own_entry']
        files, entry = compose_version(name, base_files, base_entry, own, own_entry)
        version = latest + 1
        t = now()
        db.execute('INSERT INTO versions (codebase, version, entry, own_entry, published) VALUES (?, ?, ?, ?, ?)',
                   (name, version, entry, own_entry, t))
        db.executemany('INSERT INTO version_files (codebase, version, path, sha, inherited) VALUES (?, ?, ?, ?, ?)',
                       [(name, version, p, s, 0 if p in own else 1) for p, s in files.items()])
        db.execute('UPDATE codebases SET updated=? WHERE name=?', (t, name))
        published[name] = version
        for d in db.execute('SELECT * FROM codebases WHERE base=? ORDER BY name', (name,)).fetchall():
            if self._latest(db, d['name']):
                try:
                    self._publish(db, d, False, published)
                except ValueError:
                    # The new base took away the derived codebase's entry: it keeps its last version.
                    pass

    def list_versions(self, name):
        with self._txn(False) as db:
            self._row(db, name)
            return [{'version': r['version'], 'published': r['published'], 'entry': r['entry']}
                    for r in db.execute('SELECT * FROM versions WHERE codebase=? ORDER BY version', (name,))]

    def get_version(self, name, version=None):
        with self._txn(False) as db:
            self._row(db, name)
            if version is None:
                version = self._latest(db, name)
                if not version:
                    raise NotFound('codebase %r has no published version' % name)
            row = self._version_row(db, name, version)
            if row is None:
                raise NotFound('codebase %r has no version %s' % (name, version))
            return {'name': name, 'version': version, 'entry': row['entry'],
                    'files': self._version_files(db, name, version)}

    def file_map(self, name, version):
        with self._txn(False) as db:
            row = self._row(db, name)
            if version == 'draft':
                return self._draft(db, row)[0]
            if version == 0:
                return {}
            if self._version_row(db, name, version) is None:
                raise NotFound('codebase %r has no version %s' % (name, version))
            return self._version_files(db, name, version)

    def read_blob(self, sha):
        if not isinstance(sha, str) or not SHA256_RE.match(sha):
            raise ValueError('a blob is named by 64 lower-case hex digits, not %r' % (sha,))
        with self._txn(False) as db:
            return self._blob(db, sha)

    # -- instances ------------------------------------------------------------------------------------------------

    def list_instances(self):
        with self._txn(False) as db:
            return [self._instance(r) for r in db.execute('SELECT * FROM instances ORDER BY id')]

    @staticmethod
    def _instance(row):
        info = {k: None for k in INSTANCE_FIELDS}
        info.update(json.loads(row['fields']))
        info['id'] = row['id']
        info['last_seen'] = row['last_seen']
        return {k: info[k] for k in ('id',) + INSTANCE_FIELDS[:5] + ('last_seen',) + INSTANCE_FIELDS[5:]}

    def upsert_instance(self, instance_id, fields):
        """Creates or updates an instance's report. Known fields given replace the stored ones, others are kept;
        last_seen is always the repo's own clock, so staleness is judged on one clock."""
        check_instance(instance_id, fields)
        with self._txn(True) as db:
            row = db.execute('SELECT fields FROM instances WHERE id=?', (instance_id,)).fetchone()
            stored = json.loads(row[0]) if row else {}
            stored.update({k: fields[k] for k in INSTANCE_FIELDS if k in fields})
            db.execute('INSERT OR REPLACE INTO instances (id, fields, last_seen) VALUES (?, ?, ?)',
                       (instance_id, json.dumps(stored), now()))
            return self._instance(db.execute('SELECT * FROM instances WHERE id=?', (instance_id,)).fetchone())
