"""End-to-end tests of samples/gateway: the gateway runs as a real pipyx process in front of real backends
(test/helpers/backend_app.py), on 127.0.0.1, with a configuration written for the test, and is checked with a real
HTTP client."""
import http.client
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
import yaml

from test.helpers import ROOT, Backend, PipyxProcess, free_port, request, wait_for

GATEWAY = os.path.join(ROOT, 'samples', 'gateway', 'main.py')


def echo(port, path, headers=None, conn=None):
    """A request for backend_app.py's /echo (through the gateway): (the response headers, what the backend received:
    {'path': ..., 'headers': {lower-case name: [values]}})."""
    status, rh, body = request(port, path, headers=headers, conn=conn)
    assert status == 200, (status, body)
    doc = json.loads(body)
    seen = {}
    for k, v in doc['headers']:
        seen.setdefault(k.lower(), []).append(v)
    return rh, {'path': doc['path'], 'headers': seen}


def upstream(port, path, conn=None):
    status, headers, body = request(port, path, conn=conn)
    assert status == 200, (status, body)
    return headers['x-upstream']


def addr(port):
    return '127.0.0.1:%d' % port


@pytest.fixture(scope='module')
def backends():
    """Three backend_app.py processes; yields their addresses A, B, C; stops them (by pid) afterwards."""
    started = []
    try:
        for _ in range(3):
            started.append(Backend())
        yield [addr(b.port) for b in started]
    finally:
        for b in started:
            b.stop()


def gateway_config(port, a, b, c, dead):
    return {
        'listen': '127.0.0.1:%d' % port,
        'timeout': 10,
        'services': {
            'api': {'targets': [a, b]},
            'web': {'targets': [c]},
            'admin': [b],                                        # the short form
            'weighted': {'algorithm': 'round-robin', 'targets': {a: 2, b: 1}},
            'lw': {'algorithm': 'least-work', 'targets': [a, b]},
            'abort': {'algorithm': 'least-work', 'targets': [a, b]},
            'half': {'algorithm': 'least-work', 'targets': [a, dead]},
            'down': [dead],
            'slowsvc': [a],
        },
        'routes': {
            '/api/*': {'service': 'api', 'strip_prefix': True},
            '/v2/*': {'service': 'web', 'strip_prefix': '/v2'},
            '/echo': 'web',
            'admin.example.com': 'admin',
            '/rr/*': {'service': 'weighted', 'strip_prefix': True},
            '/lw/*': {'service': 'lw', 'strip_prefix': True},
            '/abort/*': {'service': 'abort', 'strip_prefix': True},
            '/half/*': {'service': 'half', 'strip_prefix': True},
            '/down/*': 'down',
            '/slow/*': {'service': 'slowsvc', 'timeout': 0.5},
            '/patient/*': {'service': 'slowsvc', 'strip_prefix': True, 'timeout': 3},
        },
        'headers': {
            'request': {'x-forwarded-for': '$forwarded_for', 'x-request-id': '$request_id',
                        'x-forwarded-proto': 'http', 'x-route': '${service} via ${host}'},
            'response': {'x-request-id': '$request_id', 'x-upstream': '$upstream', 'x-backend': None},
        },
    }


class Gateway:
    def __init__(self, proc, port, config_path):
        self.proc, self.port, self.config_path = proc, port, config_path

    def access_lines(self):
        return [ln for ln in self.proc.log().splitlines() if not re.match(r'\d{4}-\d\d-\d\d \d', ln)]


@pytest.fixture(scope='module')
def gw(backends, tmp_path_factory):
    """One gateway for the tests that do not reload it (each test has routes and services of its own)."""
    a, b, c = backends
    port, dead = free_port(), free_port()
    d = tmp_path_factory.mktemp('gateway')
    config = d / 'config.yaml'
    config.write_text(yaml.safe_dump(gateway_config(port, a, b, c, addr(dead))))
    proc = PipyxProcess([GATEWAY], cwd=str(d), env={'CONFIG': str(config)})
    try:
        proc.wait_ready(port)
        yield Gateway(proc, port, config)
    finally:
        proc.stop()


# -- routing ---------------------------------------------------------------------------------------------------------

def test_routes_by_path_and_host(gw, backends):
    a, b, c = backends
    rh, seen = echo(gw.port, '/echo')                               # the exact path '/echo', any host
    assert (rh['x-upstream'], seen['path']) == (c, '/echo')
    rh, seen = echo(gw.port, '/echo', headers={'Host': 'admin.example.com'})   # the host's route wins
    assert (rh['x-upstream'], seen['path']) == (b, '/echo')
    rh, _ = echo(gw.port, '/echo', headers={'Host': 'ADMIN.example.com:8443'})  # case and port do not matter
    assert rh['x-upstream'] == b
    rh, _ = echo(gw.port, '/api/echo')
    assert rh['x-upstream'] in (a, b)

    # Each request of a keep-alive connection is routed on its own.
    conn = http.client.HTTPConnection('127.0.0.1', gw.port, timeout=5)
    try:
        assert echo(gw.port, '/echo', conn=conn)[0]['x-upstream'] == c
        assert echo(gw.port, '/echo', headers={'Host': 'admin.example.com'}, conn=conn)[0]['x-upstream'] == b
        assert request(gw.port, '/nowhere', conn=conn)[0] == 404
        assert echo(gw.port, '/echo', conn=conn)[0]['x-upstream'] == c
    finally:
        conn.close()


def test_strip_prefix(gw):
    assert echo(gw.port, '/api/echo?x=1&y=2')[1]['path'] == '/echo?x=1&y=2'    # strip_prefix: true ('/api')
    assert echo(gw.port, '/v2/echo')[1]['path'] == '/echo'                      # strip_prefix: /v2
    assert echo(gw.port, '/echo')[1]['path'] == '/echo'                         # no strip_prefix
    assert echo(gw.port, '/echo', headers={'Host': 'admin.example.com'})[1]['path'] == '/echo'


def test_no_route_is_404_json(gw):
    status, headers, body = request(gw.port, '/nowhere?q=1', headers={'Host': 'shop.example.com'})
    assert status == 404
    assert headers['content-type'] == 'application/json'
    doc = json.loads(body)
    assert doc['error'] == 'no route'
    assert (doc['path'], doc['host'], doc['method']) == ('/nowhere?q=1', 'shop.example.com', 'GET')
    assert doc['request_id'] == headers['x-request-id']
    assert 'x-upstream' not in headers                              # an empty value sets no header
    assert request(gw.port, '/api')[0] == 404                       # '/api/*' needs the slash

    # A request with a body gets its 404 too, and the connection goes on.
    conn = http.client.HTTPConnection('127.0.0.1', gw.port, timeout=5)
    try:
        status, _, body = request(gw.port, '/nowhere', 'POST', b'x' * 5000, {'content-type': 'text/plain'}, conn)
        assert (status, json.loads(body)['error']) == (404, 'no route')
        assert echo(gw.port, '/v2/echo', conn=conn)[1]['path'] == '/echo'
    finally:
        conn.close()


# -- headers ---------------------------------------------------------------------------------------------------------

def test_headers_added_to_requests_and_responses(gw):
    rh, seen = echo(gw.port, '/v2/echo', headers={'Host': 'example.com'})
    h = seen['headers']
    assert h['x-forwarded-for'] == ['127.0.0.1']
    assert h['x-forwarded-proto'] == ['http']
    assert h['x-route'] == ['web via example.com']
    assert h['host'] == ['example.com']                             # the client's host goes on as it was
    (rid,) = h['x-request-id']
    assert re.fullmatch(r'[0-9a-f]{32}', rid)                       # generated when the client sent none
    assert rh['x-request-id'] == rid                                # ... and returned to the client
    assert 'x-backend' not in rh                                    # null removes a response header
    assert rh['content-type'] == 'application/json'                 # the rest of the response is untouched

    other = echo(gw.port, '/v2/echo')[1]['headers']['x-request-id']
    assert other != [rid]                                           # every request gets its own

    rh, seen = echo(gw.port, '/v2/echo', headers={'X-Forwarded-For': '10.0.0.1, 10.0.0.2', 'X-Request-Id': 'req-123'})
    assert seen['headers']['x-forwarded-for'] == ['10.0.0.1, 10.0.0.2, 127.0.0.1']   # appended, not repeated
    assert seen['headers']['x-request-id'] == ['req-123']           # preserved
    assert rh['x-request-id'] == 'req-123'


# -- load balancing --------------------------------------------------------------------------------------------------

def test_round_robin_follows_weights(gw, backends):
    a, b, _ = backends
    seen = [upstream(gw.port, '/rr/echo') for _ in range(30)]
    assert Counter(seen) == {a: 20, b: 10}
    assert all(seen[i:i + 3].count(a) == 2 for i in range(28))    # smooth: two of every three, never bunched
    conn = http.client.HTTPConnection('127.0.0.1', gw.port, timeout=5)
    try:
        assert Counter(upstream(gw.port, '/rr/echo', conn=conn) for _ in range(6)) == {a: 4, b: 2}
    finally:
        conn.close()


def test_least_work_avoids_the_busy_backend(gw, backends):
    a, b, _ = backends
    slow = {}

    def slow_request():
        slow['status'], slow['headers'], slow['body'] = request(gw.port, '/lw/slow/1000')

    t = threading.Thread(target=slow_request)
    t.start()
    try:
        time.sleep(0.3)                                             # the slow request now keeps its backend busy
        quick = [upstream(gw.port, '/lw/echo') for _ in range(4)]
    finally:
        t.join(5)
    assert (slow['status'], slow['body']) == (200, b'slow')
    busy = slow['headers']['x-upstream']
    assert busy in (a, b)
    assert quick == [b if busy == a else a] * 4                     # round robin would have alternated
    # The slow request is over and its backend free again: the two are even, and take turns.
    assert Counter(upstream(gw.port, '/lw/echo') for _ in range(4)) == {a: 2, b: 2}


# -- failures --------------------------------------------------------------------------------------------------------

def test_upstream_down_is_502(gw, backends):
    a = backends[0]
    status, _, body = request(gw.port, '/down/x')
    assert (status, body) == (502, b'502 Bad Gateway\n')
    # A least-work service with one live and one dead backend: a failed request frees its backend too, so the two
    # keep taking turns (were the dead one's failures never freed, it would look busy and get no more requests).
    results = []
    for _ in range(6):
        status, headers, _ = request(gw.port, '/half/echo')
        results.append((status, headers.get('x-upstream')))
    assert Counter(results) == {(200, a): 3, (502, None): 3}
    assert results[0] != results[1]


def test_slow_upstream_is_504_after_the_route_timeout(gw):
    t0 = time.monotonic()
    status, _, body = request(gw.port, '/slow/1500')                # route timeout 0.5 s
    took = time.monotonic() - t0
    assert (status, body) == (504, b'504 Gateway Timeout\n')
    assert 0.4 < took < 1.3, took
    assert request(gw.port, '/patient/slow/800')[:3:2] == (200, b'slow')   # the same backend, a 3 s route


# -- access log ------------------------------------------------------------------------------------------------------

def test_access_log_has_one_line_per_request(gw, backends):
    a, b, c = backends
    request(gw.port, '/api/echo?q=1', headers={'x-request-id': 'log-ok-1'})
    request(gw.port, '/nowhere-logged', 'POST', b'{}', headers={'x-request-id': 'log-404-1'})
    request(gw.port, '/down/y', headers={'x-request-id': 'log-502-1'})
    request(gw.port, '/slow/1000', headers={'x-request-id': 'log-504-1'})

    def line(rid):
        found = [ln for ln in gw.access_lines() if ' %s' % rid in ln]
        return found[0] if len(found) == 1 else None

    assert wait_for(lambda: all(line(r) for r in ('log-ok-1', 'log-404-1', 'log-502-1', 'log-504-1'))), \
        gw.proc.log()
    ts = r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d 127\.0\.0\.1 '
    assert re.fullmatch(ts + r'GET /api/echo\?q=1 200 api (%s|%s) \d+ms log-ok-1' % (a, b), line('log-ok-1'))
    assert re.fullmatch(ts + r'POST /nowhere-logged 404 - - \d+ms log-404-1', line('log-404-1'))
    assert re.fullmatch(ts + r'GET /down/y 502 down 127\.0\.0\.1:\d+ \d+ms log-502-1 ConnectionRefused',
                        line('log-502-1'))
    m = re.fullmatch(ts + r'GET /slow/1000 504 slowsvc %s (\d+)ms log-504-1 ReadTimeout' % a, line('log-504-1'))
    assert m and 400 <= int(m.group(1)) < 1300, line('log-504-1')


def test_client_abort_frees_the_backend_and_is_logged(gw, backends):
    """A client that resets its connection while its request is in flight: the request's stream still ends, so its
    least-work allocation is freed and it gets its access-log line."""
    a, b, _ = backends
    with socket.create_connection(('127.0.0.1', gw.port), timeout=5) as s:
        s.sendall(b'GET /abort/slow/500 HTTP/1.1\r\nHost: x\r\nX-Request-Id: aborted-1\r\n\r\n')
        time.sleep(0.2)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))     # close with a reset
    time.sleep(0.6)                                                 # the backend has answered by now
    assert Counter(upstream(gw.port, '/abort/echo') for _ in range(4)) == {a: 2, b: 2}
    assert wait_for(lambda: any(' aborted-1' in ln for ln in gw.access_lines()), 2.0), gw.proc.log()


# -- configuration ---------------------------------------------------------------------------------------------------

def verify(config_text, tmp_path):
    path = tmp_path / 'verify.yaml'
    path.write_text(config_text)
    env = dict(os.environ, CONFIG=str(path), PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    return subprocess.run([sys.executable, '-m', 'pipyx', GATEWAY, '--verify'], env=env, capture_output=True,
                          text=True, timeout=20)


def test_shipped_config_and_config_errors(tmp_path):
    with open(os.path.join(ROOT, 'samples', 'gateway', 'config.yaml')) as f:
        shipped = f.read()
    r = verify(shipped, tmp_path)
    assert r.returncode == 0 and 'OK (1 listener)' in r.stdout + r.stderr, r.stdout + r.stderr
    cases = [
        (shipped.replace("'/static/*': web", "'/static/*': nope"), "unknown service 'nope'"),
        (shipped.replace('least-work', 'random'), "algorithm must be one of"),
        (shipped.replace('$upstream', '$upstrem'), 'unknown variable $upstrem'),
        (shipped.replace('127.0.0.1:8083', '127.0.0.1'), "is not host:port"),
    ]
    for text, message in cases:
        assert text != shipped
        r = verify(text, tmp_path)
        assert r.returncode == 1 and message in r.stderr, (message, r.stdout + r.stderr)


def test_sighup_reloads_the_config(run_pipyx, backends, tmp_path):
    a, b, c = backends
    port = free_port()
    config = tmp_path / 'gateway.yaml'
    v1 = {
        'listen': port,
        'services': {'one': [a], 'two': [b]},
        'routes': {'/*': 'one'},
        'headers': {'response': {'x-upstream': '$upstream'}},
    }
    config.write_text(yaml.safe_dump(v1))
    proc = run_pipyx(path=GATEWAY, port=port, env={'CONFIG': str(config), 'PORT': str(port)})
    assert upstream(port, '/echo') == a
    assert request(port, '/new/echo')[:3:2] == (404, b'not found\n')   # backend_app.py's own 404: no /new there

    v2 = dict(v1, routes={'/*': 'two', '/new/*': {'service': 'one', 'strip_prefix': True}},
              listen=free_port())                                   # PORT still decides the port
    config.write_text(yaml.safe_dump(v2))
    proc.signal(signal.SIGHUP)
    assert wait_for(lambda: 'reloaded' in proc.log()), proc.log()
    assert upstream(port, '/echo') == b
    rh, seen = echo(port, '/new/echo')
    assert (rh['x-upstream'], seen['path']) == (a, '/echo')

    # A broken file: the reload fails, and the gateway goes on with what it had.
    config.write_text(yaml.safe_dump(dict(v2, routes={'/*': 'three'})))
    proc.signal(signal.SIGHUP)
    assert wait_for(lambda: 'reload failed' in proc.log()), proc.log()
    assert "unknown service 'three'" in proc.log()
    assert upstream(port, '/echo') == b
