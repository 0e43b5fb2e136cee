"""End-to-end tests of the tutorial: every step runs as a real pipyx process on 127.0.0.1, with real backends, and
is checked against what its README says the reader will see."""
import http.client
import os
import signal
from collections import Counter

import pytest

from test.helpers import ROOT, free_port, request, wait_for, wait_port

TUTORIAL = os.path.join(ROOT, 'tutorial')


def step(name, *parts):
    return os.path.join(TUTORIAL, name, *parts)


def text(port, path='/', **kw):
    status, _, body = request(port, path, **kw)
    return status, body.decode()


@pytest.fixture
def backends(run_pipyx):
    """start(n): n backends from tutorial/03-proxy/backend.py in one pipyx process; returns their ports."""
    def start(n=2):
        ports = [free_port() for _ in range(n)]
        p = run_pipyx(path=step('03-proxy', 'backend.py'), port=ports[0],
                      env={'BACKEND_PORTS': ','.join(map(str, ports))})
        for port in ports[1:]:
            assert wait_port(port, proc=p.proc), p.log()
        return ports
    return start


# -- 01 hello --------------------------------------------------------------------------------------------------------

def test_01_hello(run_pipyx):
    port = free_port()
    run_pipyx(path=step('01-hello', 'main.py'), port=port, env={'PORT': str(port)})
    assert text(port, '/') == (200, 'Hi, there!\n')
    assert text(port, '/any/path?x=1', method='POST', body=b'ignored') == (200, 'Hi, there!\n')


# -- 02 echo ---------------------------------------------------------------------------------------------------------

def test_02_echo(run_pipyx):
    port = free_port()
    run_pipyx(path=step('02-echo', 'main.py'), port=port, env={'PORT': str(port)})
    status, headers, body = request(port, '/say?x=1', 'POST', b'hello pipyx', {'content-type': 'text/plain'})
    assert (status, body) == (200, b'hello pipyx')
    assert headers['x-echo'] == 'POST /say?x=1'
    assert headers['content-type'] == 'text/plain'

    status, headers, body = request(port, '/')
    assert (status, body, headers['x-echo']) == (200, b'', 'GET /')

    blob = bytes(range(256)) * 64
    status, headers, body = request(port, '/blob', 'PUT', blob, {'content-type': 'application/octet-stream'})
    assert (status, body == blob, headers['x-echo']) == (200, True, 'PUT /blob')


# -- 03 proxy --------------------------------------------------------------------------------------------------------

def test_03_proxy(run_pipyx, backends):
    (b1,) = backends(1)
    port = free_port()
    run_pipyx(path=step('03-proxy', 'main.py'), port=port, env={'PORT': str(port), 'UPSTREAM': '127.0.0.1:%d' % b1})
    status, headers, body = request(port, '/hello')
    assert (status, body.decode(), headers['x-backend']) == (200, 'backend %d: GET /hello\n' % b1, str(b1))

    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=5)   # several requests on one connection
    try:
        for i in range(3):
            assert text(port, '/k%d' % i, conn=conn) == (200, 'backend %d: GET /k%d\n' % (b1, i))
    finally:
        conn.close()


def test_03_proxy_upstream_down_is_502(run_pipyx):
    port, nobody = free_port(), free_port()
    run_pipyx(path=step('03-proxy', 'main.py'), port=port,
              env={'PORT': str(port), 'UPSTREAM': '127.0.0.1:%d' % nobody})
    assert request(port, '/')[0] == 502


# -- 04 routing ------------------------------------------------------------------------------------------------------

def test_04_routing(run_pipyx, backends):
    api, web = backends(2)
    port = free_port()
    run_pipyx(path=step('04-routing', 'main.py'), port=port,
              env={'PORT': str(port), 'UPSTREAMS': '127.0.0.1:%d,127.0.0.1:%d' % (api, web)})
    assert text(port, '/api/users') == (200, 'backend %d: GET /api/users\n' % api)
    assert text(port, '/static/app.css') == (200, 'backend %d: GET /static/app.css\n' % web)
    assert text(port, '/') == (200, 'backend %d: GET /\n' % web)
    assert text(port, '/nope') == (404, 'No route\n')
    assert text(port, '/api') == (404, 'No route\n')          # '/api/*' needs the slash
    admin = {'Host': 'admin.example.com'}
    assert text(port, '/nope', headers=admin) == (200, 'backend %d: GET /nope\n' % web)
    assert text(port, '/api/users', headers=admin) == (200, 'backend %d: GET /api/users\n' % web)

    # Each request on a keep-alive connection is routed on its own.
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=5)
    try:
        assert text(port, '/api/1', conn=conn) == (200, 'backend %d: GET /api/1\n' % api)
        assert text(port, '/static/2', conn=conn) == (200, 'backend %d: GET /static/2\n' % web)
        assert text(port, '/missing', conn=conn) == (404, 'No route\n')
        assert text(port, '/api/3', conn=conn) == (200, 'backend %d: GET /api/3\n' % api)
    finally:
        conn.close()


# -- 05 load balancing -----------------------------------------------------------------------------------------------

def which_backend(port, path='/', conn=None):
    status, headers, _ = request(port, path, conn=conn)
    assert status == 200
    return int(headers['x-backend'])


def test_05_load_balancing_follows_weights(run_pipyx, backends):
    b1, b2 = backends(2)
    port = free_port()
    run_pipyx(path=step('05-load-balancing', 'main.py'), port=port,
              env={'PORT': str(port), 'BACKENDS': '127.0.0.1:%d,127.0.0.1:%d' % (b1, b2)})   # WEIGHTS: 2,1
    seen = [which_backend(port, '/%d' % i) for i in range(30)]
    assert Counter(seen) == {b1: 20, b2: 10}
    assert seen[:3].count(b1) == 2                            # smooth: two of every three, not 20 in a row
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=5)
    try:
        assert Counter(which_backend(port, conn=conn) for _ in range(6)) == {b1: 4, b2: 2}
    finally:
        conn.close()


def test_05_load_balancing_equal_weights_alternate(run_pipyx, backends):
    b1, b2 = backends(2)
    port = free_port()
    run_pipyx(path=step('05-load-balancing', 'main.py'), port=port,
              env={'PORT': str(port), 'BACKENDS': '127.0.0.1:%d,127.0.0.1:%d' % (b1, b2), 'WEIGHTS': '1,1'})
    seen = [which_backend(port) for _ in range(6)]
    assert seen in ([b1, b2] * 3, [b2, b1] * 3)


# -- 06 configuration ------------------------------------------------------------------------------------------------

def shipped_config(name, api, web):
    """The tutorial's own config file, with its backend addresses pointed at the test's backends."""
    with open(step('06-configuration', name)) as f:
        return f.read().replace('127.0.0.1:8081', '127.0.0.1:%d' % api).replace('127.0.0.1:8082', '127.0.0.1:%d' % web)


def test_06_configuration_yaml_and_reload(run_pipyx, backends, tmp_path):
    api, web = backends(2)
    port = free_port()
    config = tmp_path / 'config.yaml'
    config.write_text(shipped_config('config.yaml', api, web))
    proxy = run_pipyx(path=step('06-configuration', 'main.py'), port=port,
                      env={'PORT': str(port), 'CONFIG': str(config)})
    assert text(port, '/api/x') == (200, 'backend %d: GET /api/x\n' % api)
    assert text(port, '/static/y') == (200, 'backend %d: GET /static/y\n' % web)
    assert text(port, '/') == (200, 'backend %d: GET /\n' % web)
    assert text(port, '/nope') == (404, 'No route\n')

    # The README's edit: send everything that has no other route to the api upstream, then SIGHUP.
    config.write_text(config.read_text().replace("  '/': web\n", "  '/*': api\n"))
    proxy.signal(signal.SIGHUP)
    assert wait_for(lambda: text(port, '/nope')[0] == 200), proxy.log()
    assert text(port, '/nope') == (200, 'backend %d: GET /nope\n' % api)
    assert text(port, '/static/y') == (200, 'backend %d: GET /static/y\n' % web)   # longer prefix still wins

    # A broken file: the reload fails, and the running configuration stays.
    config.write_text('routes: [oops\n')
    proxy.signal(signal.SIGHUP)
    assert wait_for(lambda: 'reload failed' in proxy.log()), proxy.log()
    assert text(port, '/nope') == (200, 'backend %d: GET /nope\n' % api)
    assert proxy.proc.poll() is None


def test_06_configuration_json(run_pipyx, backends, tmp_path):
    b1, b2 = backends(2)
    port = free_port()
    config = tmp_path / 'proxy.json'
    config.write_text(shipped_config('config.json', b1, b2))
    run_pipyx(path=step('06-configuration', 'main.py'), port=port, env={'PORT': str(port), 'CONFIG': str(config)})
    assert text(port, '/api/x') == (200, 'backend %d: GET /api/x\n' % b1)
    # "web" balances over both backends, one each in turn.
    assert Counter(which_backend(port, '/page/%d' % i) for i in range(4)) == {b1: 2, b2: 2}


# -- 07 plugins ------------------------------------------------------------------------------------------------------

def test_07_plugins(run_pipyx, backends):
    (b1,) = backends(1)
    port = free_port()
    proxy = run_pipyx(path=step('07-plugins', 'main.py'), port=port,
                      env={'PORT': str(port), 'UPSTREAM': '127.0.0.1:%d' % b1, 'TOKEN': 't0k3n'})

    status, headers, body = request(port, '/secret')
    assert status == 401
    assert headers['www-authenticate'] == 'Bearer'
    assert headers['x-served-by'] == 'pipyx'                 # access-log saw the 401 on its way out
    assert b'Unauthorized' in body
    assert request(port, '/secret', headers={'Authorization': 'Bearer wrong'})[0] == 401

    status, headers, body = request(port, '/secret', headers={'Authorization': 'Bearer t0k3n'})
    assert (status, body.decode()) == (200, 'backend %d: GET /secret\n' % b1)
    assert headers['x-served-by'] == 'pipyx'
    assert headers['x-backend'] == str(b1)

    assert wait_for(lambda: 'GET /secret -> 200' in proxy.log()), proxy.log()
    assert '127.0.0.1 GET /secret -> 401' in proxy.log()


# -- 09 retries ------------------------------------------------------------------------------------------------------

def test_09_retries_skip_a_backend_that_is_down(run_pipyx, backends):
    (alive,) = backends(1)
    dead = free_port()                                        # nothing listens there
    port = free_port()
    p = run_pipyx(path=step('09-retries', 'main.py'), port=port,
                  env={'PORT': str(port), 'BACKENDS': '127.0.0.1:%d,127.0.0.1:%d' % (dead, alive)})
    for i in range(6):                                        # every other request meets the dead backend first
        assert text(port, '/%d' % i) == (200, 'backend %d: GET /%d\n' % (alive, i))
    wait_for(lambda: '127.0.0.1:%d: ConnectionRefused: retrying' % dead in p.log())


def test_09_retries_give_up_after_the_last_retry(run_pipyx):
    dead = [free_port(), free_port()]
    port = free_port()
    p = run_pipyx(path=step('09-retries', 'main.py'), port=port,
                  env={'PORT': str(port), 'BACKENDS': ','.join('127.0.0.1:%d' % d for d in dead), 'RETRIES': '1'})
    assert text(port, '/')[0] == 502
    wait_for(lambda: 'max_replays (1)' in p.log())


# -- 10 throttling ---------------------------------------------------------------------------------------------------

def throttling(run_pipyx, **env):
    port = free_port()
    run_pipyx(path=step('10-throttling', 'main.py'), port=port,
              env=dict({'PORT': str(port)}, **{k: str(v) for k, v in env.items()}))
    return port


def test_10_throttling_requests_of_a_client_share_one_quota_across_connections(run_pipyx):
    import time
    port = throttling(run_pipyx, REQUESTS_PER_SECOND=3)
    conns = [http.client.HTTPConnection('127.0.0.1', port, timeout=5) for _ in range(2)]
    try:
        began = time.monotonic()
        answers = [text(port, '/', conn=conns[i % 2]) for i in range(5)]
        took = time.monotonic() - began
    finally:
        for c in conns:
            c.close()
    assert answers == [(200, 'hello\n')] * 5
    assert took >= 0.8                  # three went at once, the next two waited for the quota to come back


def test_10_throttling_at_most_two_reports_in_the_making(run_pipyx):
    import concurrent.futures
    port = throttling(run_pipyx, REPORTS_AT_ONCE=2)
    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(lambda i: text(port, '/report'), range(5)))
    assert all(status == 200 for status, _ in answers)
    in_the_making = [int(body.split('(')[1].split()[0]) for _, body in answers]
    assert max(in_the_making) == 2


def test_10_throttling_a_download_comes_at_the_client_rate(run_pipyx):
    import time
    port = throttling(run_pipyx, DOWNLOAD_RATE=100000, DOWNLOAD_SIZE=150000)
    began = time.monotonic()
    status, _, body = request(port, '/download')
    took = time.monotonic() - began
    assert status == 200 and body == b'x' * 150000
    assert took >= 0.8                  # 100,000 bytes at once, the rest a second later
