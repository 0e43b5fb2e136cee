"""serve_files / Directory: nothing outside the root is reachable, and nothing hidden inside it.

Every attempt is its own case, sent as raw bytes over a socket (curl and browsers would normalise `..` away before
sending). Everything refused is a 404, so an answer never tells whether the file exists.
"""
import os

import pytest

from test.files.support import FileServer, write
from test.helpers import RawClient

SECRET = b'the secret outside the root\n'


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    base = tmp_path_factory.mktemp('safety')
    www = base / 'www'
    write(str(base / 'secret.txt'), SECRET)
    write(str(base / 'outside' / 'secret.txt'), SECRET)
    write(str(www / 'index.html'), '<h1>home</h1>\n')
    write(str(www / 'sub' / 'a.txt'), 'a\n')
    write(str(www / '.env'), 'TOKEN=1\n')
    write(str(www / '.git' / 'config'), '[core]\n')
    write(str(www / 'sub' / '.hidden'), 'hidden\n')
    write(str(www / '.well-known' / 'security.txt'), 'Contact: mailto:security@example.com\n')
    os.symlink(str(base / 'secret.txt'), str(www / 'link-out'))
    os.symlink(str(base / 'outside'), str(www / 'dir-out'))
    os.symlink('sub/a.txt', str(www / 'link-in'))
    os.symlink('sub', str(www / 'dir-in'))
    os.symlink('.env', str(www / 'link-to-hidden'))
    os.symlink('/etc/passwd', str(www / 'link-abs'))
    os.mkfifo(str(www / 'fifo'))
    return base


@pytest.fixture(scope='module')
def server(site):
    s = FileServer(str(site / 'www'), str(site))
    yield s
    s.stop()


@pytest.fixture(scope='module')
def open_server(site):
    s = FileServer(str(site / 'www'), str(site), hidden=True, well_known=False)
    yield s
    s.stop()


ESCAPES = [
    '/../secret.txt',
    '/sub/../../secret.txt',
    '/%2e%2e/secret.txt',
    '/%2E%2E/secret.txt',
    '/.%2e/secret.txt',
    '/sub/%2e%2e/%2e%2e/secret.txt',
    '/..%2fsecret.txt',
    '/%2e%2e%2fsecret.txt',
    '/sub%2f..%2f..%2fsecret.txt',
    '/..\\secret.txt',
    '/..%5csecret.txt',
    '/sub\\..\\..\\secret.txt',
    '/index.html%00',
    '/index.html%00.txt',
    '/sub/a.txt%00.html',
    '//etc/passwd',
    '//%2e%2e/secret.txt',
    '/sub//a.txt',
    '/./index.html',
    '/sub/./a.txt',
    '/sub/.',
    '/%2fetc%2fpasswd',
    '/etc/passwd',
    'http://x/../secret.txt',
    'http://x/%2e%2e/secret.txt',
    '../secret.txt',
    'secret.txt',
    '*',
    '/link-out',
    '/link-abs',
    '/dir-out/secret.txt',
    '/dir-out/',
    '/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    '/%c0%ae%c0%ae/secret.txt',
    '/' + '%2e%2e/' * 20 + 'etc/passwd',
]


@pytest.mark.parametrize('path', ESCAPES)
def test_no_path_escapes_the_root(server, path):
    r = server.get(path)
    assert r.status in (404, 400), (path, r)
    assert SECRET not in r.body and b'root:' not in r.body


@pytest.mark.parametrize('path', ['/.env', '/.git/config', '/.git/', '/sub/.hidden', '/%2eenv', '/link-to-hidden'])
def test_hidden_files_are_404(server, path):
    assert server.get(path).status == 404


def test_well_known_is_served_by_default(server):
    r = server.get('/.well-known/security.txt')
    assert (r.status, r.body) == (200, b'Contact: mailto:security@example.com\n')


def test_hidden_files_when_enabled(open_server):
    assert open_server.get('/.env').body == b'TOKEN=1\n'
    assert open_server.get('/sub/.hidden').body == b'hidden\n'
    assert open_server.get('/.well-known/security.txt').status == 200    # well_known=False matters only when hidden
    assert open_server.get('/../secret.txt').status == 404               # hidden does not open the way out


@pytest.mark.parametrize('path,body', [('/link-in', b'a\n'), ('/dir-in/a.txt', b'a\n')])
def test_symlinks_inside_the_root_are_followed(server, path, body):
    r = server.get(path)
    assert (r.status, r.body) == (200, body)


def test_a_fifo_is_404_and_does_not_block_the_server(server):
    with RawClient(server.port, timeout=3) as c:
        c.send('GET /fifo HTTP/1.1\r\nHost: x\r\n\r\nGET /sub/a.txt HTTP/1.1\r\nHost: x\r\n\r\n')
        assert c.read_response().status == 404
        assert c.read_response().body == b'a\n'


def test_a_nul_in_a_raw_path_is_refused(server):
    with RawClient(server.port, timeout=3) as c:
        c.send(b'GET /index.html\x00.txt HTTP/1.1\r\nHost: x\r\n\r\n')
        assert c.read_response().status in (400, 404)


def test_a_redirect_never_points_off_site(server):
    # '/dir-in' is a folder: the redirect adds a slash to the path as sent, and '//host' paths never get that far.
    r = server.get('/dir-in?next=//evil.example')
    assert r.status == 301 and r.header('location') == '/dir-in/?next=//evil.example'
    assert server.get('//evil.example/').status == 404
