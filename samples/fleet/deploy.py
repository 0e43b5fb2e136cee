"""Deploy a directory to a pipyx repo as a new version of a codebase, then watch the workers take it.

    python3 samples/fleet/deploy.py [DIR] [--repo URL] [--name NAME] [--entry PATH] [--wait SECONDS] [--workers N]

DIR defaults to the codebase/ directory next to this file. The draft of the codebase is made to match DIR exactly
(files uploaded, files that are no longer in DIR removed), then published. Nothing is published when nothing
changed. Then, for up to --wait seconds (10 unless given; 0 to skip), it waits until every worker of the codebase runs
the new version, or has reported that it could not load it. A worker shows up in the repo's list once it has run
something, so for a first deploy, say how many workers to wait for with --workers. The token comes from
PIPYX_REPO_TOKEN.

Only the standard library: urllib for HTTP, json for the API's bodies.
"""
import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP_DIRS = {'__pycache__'}
ALIVE = 30.0         # an instance whose last report is older than this (seconds) is taken to be gone


class RepoError(Exception):
    pass


class Repo:
    """The repo's management API (/api/v1), with the token on every request."""

    def __init__(self, url, token):
        self.url = url.rstrip('/')
        self.token = token

    def call(self, method, path, body=None, raw=False, ok_missing=False):
        """JSON in and out; raw=True sends bytes. None for a 404 when ok_missing."""
        headers = {'Authorization': 'Bearer ' + self.token} if self.token else {}
        if body is not None and not raw:
            body = json.dumps(body).encode()
            headers['Content-Type'] = 'application/json'
        elif raw:
            headers['Content-Type'] = 'application/octet-stream'
        req = urllib.request.Request(self.url + '/api/v1' + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                text = r.read()
        except urllib.error.HTTPError as e:
            if e.code == 404 and ok_missing:
                return None
            try:
                message = json.loads(e.read()).get('error', '')
            except ValueError:
                message = ''
            raise RepoError('%s %s: HTTP %d %s' % (method, path, e.code, message or e.reason))
        except urllib.error.URLError as e:
            raise RepoError('cannot reach the repo at %s: %s' % (self.url, e.reason))
        return json.loads(text) if text else None


def local_files(directory):
    """{path in the codebase: bytes} for every file under directory, hidden files and Python caches left out."""
    files = {}
    for root, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith('.'))
        for name in sorted(names):
            if name.startswith('.') or name.endswith('.pyc'):
                continue
            full = os.path.join(root, name)
            path = os.path.relpath(full, directory).replace(os.sep, '/')
            with open(full, 'rb') as f:
                files[path] = f.read()
    return files


def deploy(repo, name, directory, entry):
    """Makes the draft match directory and publishes it: (version, published?)."""
    files = local_files(directory)
    if entry not in files:
        raise RepoError('%s has no %s to run' % (directory, entry))
    quoted = urllib.parse.quote(name, safe='')
    codebase = repo.call('GET', '/codebases/' + quoted, ok_missing=True)
    if codebase is None:
        repo.call('POST', '/codebases', {'name': name})
        print('created codebase %s' % name)
        codebase = {'files': [], 'version': 0}
    for path, data in files.items():
        repo.call('PUT', '/codebases/%s/files/%s' % (quoted, urllib.parse.quote(path)), data, raw=True)
    for path in sorted(set(codebase['files']) - set(files)):
        try:
            repo.call('DELETE', '/codebases/%s/files/%s' % (quoted, urllib.parse.quote(path)))
            print('removed %s' % path)
        except RepoError as e:           # 409: inherited from a base codebase, which this script does not change
            print('kept %s (%s)' % (path, e))
    repo.call('PUT', '/codebases/%s/entry' % quoted, {'path': entry})
    codebase = repo.call('GET', '/codebases/' + quoted)
    if not codebase['draft'] and codebase['version'] > 0:
        return codebase['version'], False
    return repo.call('POST', '/codebases/%s/publish' % quoted)['version'], True


def live_instances(repo, name):
    """The workers of the codebase that reported lately (a worker that stopped stays in the repo's list)."""
    instances = [i for i in repo.call('GET', '/instances') if i.get('codebase') == name]
    newest = max((i['last_seen'] for i in instances), default=0)
    return [i for i in instances if i['last_seen'] >= newest - ALIVE]


def wait_for_workers(repo, name, version, expect, timeout):
    """Waits until at least expect workers report, and each one runs version or has failed to load it. True when
    they all run it."""
    deadline = time.monotonic() + timeout
    while True:
        live = live_instances(repo, name)
        running = [i for i in live if i['version'] == version and i['status'] == 'running']
        failed = [i for i in live if i['status'] == 'failed' and (i['error'] or '').startswith('version %d:' % version)]
        if len(live) >= expect and len(running) + len(failed) == len(live) or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    for i in sorted(live, key=lambda i: i['address'] or ''):
        state = 'runs version %s' % i['version'] if i['version'] is not None else 'runs nothing'
        if i['status'] == 'failed':
            state += ', failed %s' % i['error']        # the error starts with the version: "version 3: main.py:..."
        elif i['status'] != 'running':
            state += ' (%s)' % i['status']
        print('  %-24s %-20s %s' % (i['id'], i['address'] or '-', state))
    if len(live) < expect:
        print('%d of the %d workers expected have reported' % (len(live), expect))
    elif len(running) < len(live):
        print('%d of %d workers run version %d' % (len(running), len(live), version))
    return len(live) >= expect and len(running) == len(live)


def main(argv=None):
    p = argparse.ArgumentParser(description='Deploy a directory to a pipyx repo as a new version of a codebase.')
    p.add_argument('directory', nargs='?', default=os.path.join(HERE, 'codebase'),
                   help='the files of the codebase (default: codebase/ next to this script)')
    p.add_argument('--repo', default='http://127.0.0.1:%s' % os.environ.get('REPO_PORT', '6060'),
                   help='the repo (default http://127.0.0.1:$REPO_PORT, port 6060 unless set)')
    p.add_argument('--name', default=os.environ.get('CODEBASE', 'gateway'),
                   help='the codebase (default $CODEBASE, else gateway)')
    p.add_argument('--entry', default='main.py', help='the script workers run (default main.py)')
    p.add_argument('--wait', type=float, default=10.0, metavar='S',
                   help='seconds to wait for the workers to switch (default 10; 0: do not wait)')
    p.add_argument('--workers', type=int, metavar='N',
                   help='how many workers to wait for (default: as many as ran the codebase before, at least 1)')
    args = p.parse_args(argv)
    token = os.environ.get('PIPYX_REPO_TOKEN')
    if not token:
        print('deploy.py: set PIPYX_REPO_TOKEN to the repo\'s token', file=sys.stderr)
        return 2
    repo = Repo(args.repo, token)
    try:
        expect = args.workers or max(1, len(live_instances(repo, args.name)))
        version, published = deploy(repo, args.name, args.directory, args.entry)
        if not published:
            print('nothing changed: %s stays at version %d' % (args.name, version))
            return 0
        print('published %s version %d' % (args.name, version))
        if args.wait > 0 and not wait_for_workers(repo, args.name, version, expect, args.wait):
            return 1
    except RepoError as e:
        print('deploy.py: %s' % e, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
