"""The token `pipyx URL` sends to the repo: read by the server's rule, so that a blank PIPYX_REPO_TOKEN is no token
and white space around one is not part of it. Against a stand-in repo on 127.0.0.1 that notes what it is sent."""
import http.server
import threading

import pytest

from test.cli.support import run_cli


class NotingRepo(http.server.ThreadingHTTPServer):
    """Answers 404 (nothing published) to every request, and keeps the Authorization field of each, None if none."""

    def __init__(self):
        self.authorizations = []
        super().__init__(('127.0.0.1', 0), NotingHandler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return 'http://127.0.0.1:%d/repo/app/' % self.server_address[1]

    def close(self):
        self.shutdown()
        self.server_close()
        self.thread.join(5.0)


class NotingHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.authorizations.append(self.headers.get('Authorization'))
        self.send_response(404)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, *args):
        pass                                # the test reads what it noted, not a log on stderr


@pytest.fixture
def repo():
    server = NotingRepo()
    yield server
    server.close()


@pytest.mark.parametrize('blank', ['', '   ', '\t\n'])
def test_a_blank_token_is_no_token(repo, blank):
    r = run_cli([repo.url, '--verify'], env={'PIPYX_REPO_TOKEN': blank})
    assert r.returncode == 1 and 'nothing published for app' in r.stderr, r.stderr
    assert repo.authorizations and set(repo.authorizations) == {None}, repo.authorizations
    assert 'PIPYX_REPO_TOKEN is blank, which is no token' in r.stderr


def test_white_space_around_the_token_is_not_part_of_it(repo):
    r = run_cli([repo.url, '--verify'], env={'PIPYX_REPO_TOKEN': ' s3cret\n'})
    assert r.returncode == 1, r.stderr
    assert repo.authorizations and set(repo.authorizations) == {'Bearer s3cret'}, repo.authorizations
    assert 'blank' not in r.stderr


def test_a_blank_repo_token_option_leaves_the_variable_to_give_it(repo):
    r = run_cli([repo.url, '--verify', '--repo-token', ' '], env={'PIPYX_REPO_TOKEN': 's3cret'})
    assert r.returncode == 1, r.stderr
    assert set(repo.authorizations) == {'Bearer s3cret'}, repo.authorizations
