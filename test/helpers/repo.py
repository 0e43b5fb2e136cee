"""The repo server (`python -m pipyx.repo`) as a process, and its API as a publisher uses it."""
import json
import os
import ssl
import sys

from .clients import request
from .processes import Process

REPO_TOKEN = 's3cret-token'
SERVER_TOKEN = object()          # api()'s default: the token the server was started with


class RepoServer(Process):
    """`python -m pipyx.repo` on repo_dir, started by the constructor (ready() waits for it to listen); stopped by its
    pid. The token goes in PIPYX_REPO_TOKEN, or with --repo-token when token_option (both ways are in use); None
    starts it with no token. tls: {'cert', 'key', 'ca'} paths (see certificates()) serve the API over HTTPS, and
    api() trusts that CA."""

    def __init__(self, repo_dir, port, token=REPO_TOKEN, token_option=False, extra=(), listen=None, tls=None):
        self.port = port
        self.token = token
        self.tls = tls
        os.makedirs(str(repo_dir), exist_ok=True)
        argv = [sys.executable, '-m', 'pipyx.repo', '--repo-dir', repo_dir, '--listen', listen or '127.0.0.1:%d' % port]
        if token is not None and token_option:
            argv += ['--repo-token', token]
        if tls:
            argv += ['--repo-tls-cert', tls['cert'], '--repo-tls-key', tls['key']]
        env = {'PIPYX_REPO_TOKEN': token if token is not None and not token_option else None}
        super().__init__(argv + list(extra), cwd=repo_dir, env=env, name='repo')

    def ready(self):
        return self.wait_ready(self.port)

    # -- the API, as a publisher uses it ------------------------------------------------------------------------------

    def api(self, method, path, body=None, token=SERVER_TOKEN, timeout=10.0):
        """(status, headers, body bytes). body: bytes are sent raw, anything else as JSON. token=None sends none."""
        token = self.token if token is SERVER_TOKEN else token
        headers = {'Authorization': 'Bearer ' + token} if token else {}
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body).encode()
            headers['Content-Type'] = 'application/json'
        tls = ssl.create_default_context(cafile=self.tls['ca']) if self.tls else None
        return request(self.port, path, method, body, headers, timeout=timeout, tls=tls)

    def get_json(self, path, timeout=10.0):
        status, _, body = self.api('GET', path, timeout=timeout)
        return status, json.loads(body)

    def publish(self, name, files, entry='main.py'):
        """Creates the codebase if needed, uploads files ({path: text}), sets the entry and publishes: the new
        version number."""
        assert self.api('POST', '/api/v1/codebases', {'name': name})[0] in (201, 409)
        for path, text in files.items():
            status, _, body = self.api('PUT', '/api/v1/codebases/%s/files/%s' % (name, path), text.encode())
            assert status == 204, body
        assert self.api('PUT', '/api/v1/codebases/%s/entry' % name, {'path': entry})[0] == 200
        status, _, body = self.api('POST', '/api/v1/codebases/%s/publish' % name)
        assert status == 200, body
        return json.loads(body)['version']

    def instances_text(self):
        return self.api('GET', '/api/v1/instances')[2].decode()
