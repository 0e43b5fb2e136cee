"""What the static-file tests share: a site on disk, a pipyx process serving it (with its cache's stats on a
second port), and requests sent as raw bytes so that no client rewrites the path first."""
import json
import os
import subprocess
import urllib.request

from test.helpers import PipyxProcess, free_port, simple_request

SERVER = '''\
import json
import re

from pipyx import pipy
from pipyx.files import Directory

site = Directory({root!r}, **{options})
pipy().listen('127.0.0.1:{port}').serve_http(site.serve)
pipy().listen('127.0.0.1:{stats_port}').serve_http(lambda req: json.dumps(site.cache.stats()))
'''


def write(path, content, mtime=None):
    """Writes a file (bytes or str), making its folders; mtime sets its modification time (seconds)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(content.encode() if isinstance(content, str) else content)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def text_of(n, seed='pipyx serves files '):
    """n bytes of compressible text."""
    out = (seed * (n // len(seed) + 1)).encode()
    return out[:n]


class FileServer:
    """A pipyx process serving Directory(root, **options) on a free port; `stats()` reads its cache's counters.
    The options are written into the script with repr(), so compiled regexes work too."""

    def __init__(self, root, workdir, **options):
        self.root = root
        self.port = free_port()
        self.stats_port = free_port()
        script = os.path.join(workdir, 'files-server-%d.py' % self.port)
        opts = '{%s}' % ', '.join('%r: %r' % kv for kv in options.items())
        with open(script, 'w') as f:
            f.write(SERVER.format(root=str(root), options=opts, port=self.port, stats_port=self.stats_port))
        self.proc = PipyxProcess([script], cwd=workdir)
        self.proc.wait_ready(self.port)
        self.proc.wait_ready(self.stats_port)

    def get(self, path, headers=None, method='GET', timeout=5.0):
        """One request, the path sent exactly as given; a test.helpers Response."""
        return simple_request(self.port, path, method, headers, timeout=timeout)

    def url(self, path=''):
        return 'http://127.0.0.1:%d%s' % (self.port, path)

    def stats(self):
        with urllib.request.urlopen('http://127.0.0.1:%d/' % self.stats_port, timeout=5) as r:
            return json.loads(r.read())

    def stop(self):
        self.proc.stop()


def curl(*args, timeout=10):
    """Runs curl; returns (exit code, stdout bytes, stderr text)."""
    p = subprocess.run(['curl', '-s', '--max-time', '5'] + list(args), capture_output=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode('utf-8', 'replace')


def fields(resp):
    """The response's header fields as a dict (the last of repeated ones)."""
    return dict(resp.headers)
