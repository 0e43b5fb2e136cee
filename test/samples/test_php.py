"""End-to-end test of samples/php: its pages through a real php-fpm, a curl -F upload, the JSON endpoint, the front
controller mode, and php-fpm down."""
import hashlib
import json
import os
import subprocess

import pytest

from test.filters.fastcgi_support import PhpFpm
from test.helpers import ROOT, free_port, simple_request

SAMPLE = os.path.join(ROOT, 'samples', 'php', 'main.py')


@pytest.fixture(scope='module')
def fpm(tmp_path_factory):
    f = PhpFpm(str(tmp_path_factory.mktemp('php')))
    yield f
    f.stop()


def start(processes, fpm_port, **env):
    port = free_port()
    processes.pipyx([SAMPLE], port=port, env=dict({'PORT': str(port), 'FPM': '127.0.0.1:%d' % fpm_port}, **env))
    return port


def test_the_page_and_an_upload(processes, fpm, tmp_path):
    port = start(processes, fpm.port)
    r = simple_request(port, '/')
    assert r.status == 200 and b'Hello from PHP' in r.body and b'Served by pipyx' in r.body
    data = os.urandom(100000)
    (tmp_path / 'photo.bin').write_bytes(data)
    out = subprocess.run(['curl', '-s', '--max-time', '10', '-F', 'who=tester', '-F',
                          'upload=@%s' % (tmp_path / 'photo.bin'), 'http://127.0.0.1:%d/' % port],
                         capture_output=True, timeout=20)
    assert ('Received photo.bin: %d bytes,\nmd5 %s, from tester.' % (len(data), hashlib.md5(data).hexdigest())
            ).encode() in out.stdout


def test_the_json_endpoint(processes, fpm):
    port = start(processes, fpm.port)
    r = simple_request(port, '/api.php?x=2', 'POST', body=b'{"a": [1, 2]}')
    assert r.status == 200 and json.loads(r.body) == {'method': 'POST', 'query': {'x': '2'}, 'body': {'a': [1, 2]}}
    r = simple_request(port, '/api.php', 'POST', body=b'not json')
    assert r.status == 400 and json.loads(r.body) == {'error': 'the body is not JSON'}


def test_a_front_controller_takes_every_path(processes, fpm):
    port = start(processes, fpm.port, FRONT='api.php')
    r = simple_request(port, '/users/7?sort=name')
    assert r.status == 200 and json.loads(r.body)['query'] == {'sort': 'name'}


def test_a_missing_file_is_404_and_php_fpm_down_is_502(processes, fpm):
    port = start(processes, fpm.port)
    assert simple_request(port, '/nope.php').status == 404
    down = start(processes, free_port())
    assert simple_request(down, '/').status == 502
