"""HTTP tunnels against real peers. Upgrade through demux_http -> mux_http -> connect, with the `websockets` package
as client and server (text, binary, fragments, ping, close codes, the tunnel's idle timeout, a refused upgrade
leaving the connection usable); accept_http_tunnel serving `curl -p -x` (CONNECT) with a refused host getting 403;
MQTT (paho, mosquitto) carried over connect_http_tunnel -> accept_http_tunnel with Proxy-Authorization."""
import json
import subprocess
import threading
import time

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect

from test.filters.ws_peers import EchoServer
from test.helpers import RawClient, established, free_port, lacks, req, wait_for
from test.mqtt.support import mosquitto  # noqa: F401  (the fixture)

PROXY = '''
from pipyx import pipy
pipy().listen(%(port)d).demux_http(tunnel_idle_timeout=%(idle)s).to(
    lambda p: p.mux_http().to(lambda p: p.connect('127.0.0.1:%(upstream)d')))
'''


@pytest.fixture(scope='module')
def echo():
    s = EchoServer()
    yield s
    s.stop()


@pytest.fixture
def proxy(run_pipyx, echo):
    port = free_port()
    proc = run_pipyx(PROXY % {'port': port, 'upstream': echo.port, 'idle': 60}, port=port)
    proc.port = port
    return proc


def test_websocket_through_the_proxy(proxy, echo):
    with ws_connect('ws://127.0.0.1:%d/chat' % proxy.port, open_timeout=5, close_timeout=5) as ws:
        ws.send('hello')
        assert ws.recv(5) == 'hello'
        ws.send(b'\x00\x01\xff' * 1000)
        assert ws.recv(5) == b'\x00\x01\xff' * 1000
        ws.send(['frag', 'mented', ' text'])             # one message in three frames
        assert ws.recv(5) == 'fragmented text'
        assert ws.ping(b'are you there').wait(5)
        big = 'x' * 200000                                # longer than one read, both ways
        ws.send(big)
        assert ws.recv(5) == big
    path, headers = echo.requests[-1]
    assert path == '/chat'
    assert headers['upgrade'].lower() == 'websocket' and 'upgrade' in headers['connection'].lower()
    assert 'sec-websocket-key' in headers


def test_close_code_from_the_upstream_reaches_the_client(proxy):
    with ws_connect('ws://127.0.0.1:%d/' % proxy.port, open_timeout=5, close_timeout=5) as ws:
        ws.send('close 4001')
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(5)
    assert closed.value.rcvd.code == 4001 and closed.value.rcvd.reason == 'asked to'


def test_upgraded_upstream_connection_is_not_pooled_and_closes_with_the_client(proxy, echo):
    for _ in range(3):
        with ws_connect('ws://127.0.0.1:%d/' % proxy.port, open_timeout=5, close_timeout=5) as ws:
            ws.send('one')
            assert ws.recv(5) == 'one'
            assert established(echo.port) >= 1
    # each session had its own upstream connection, and none is left once the clients are gone
    wait_for(lambda: established(echo.port) == 0, 5, what='the upstream connections to close')


def test_client_closing_without_a_close_frame_closes_the_upstream(proxy, echo):
    ws = ws_connect('ws://127.0.0.1:%d/' % proxy.port, open_timeout=5)
    ws.send('x')
    assert ws.recv(5) == 'x'
    ws.socket.close()                                     # gone, no close handshake
    wait_for(lambda: established(echo.port) == 0, 5, what='the upstream connection to close')


def test_refused_upgrade_is_a_plain_response_and_the_connection_goes_on(proxy):
    with pytest.raises(InvalidStatus) as refused:
        ws_connect('ws://127.0.0.1:%d/refuse' % proxy.port, open_timeout=5)
    assert refused.value.response.status_code == 403
    with RawClient(proxy.port) as c:
        c.send(req('/refuse', headers=[('Upgrade', 'websocket'), ('Connection', 'Upgrade'),
                                       ('Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='),
                                       ('Sec-WebSocket-Version', '13')]))
        r = c.read_response()
        assert r.status == 403 and r.body == b'refused\n'
        with ws_connect('ws://127.0.0.1:%d/' % proxy.port, open_timeout=5) as ws:
            ws.send('still fine')
            assert ws.recv(5) == 'still fine'


def test_idle_tunnel_is_closed_after_its_timeout(run_pipyx, echo):
    port = free_port()
    run_pipyx(PROXY % {'port': port, 'upstream': echo.port, 'idle': 1}, port=port)
    ws = ws_connect('ws://127.0.0.1:%d/' % port, open_timeout=5, ping_interval=None)
    ws.send('a')
    assert ws.recv(5) == 'a'
    started = time.monotonic()
    with pytest.raises(ConnectionClosed):
        ws.recv(10)
    assert time.monotonic() - started < 8
    wait_for(lambda: established(echo.port) == 0, 5, what='the upstream connection to close')


SERVE = '''
from pipyx import pipy, Message
pipy().listen(%(port)d).serve_http(lambda req: Message('plain %%s\\n' %% req.head.headers.get('upgrade')))
'''


def test_serve_http_answers_an_upgrade_as_a_plain_request(run_pipyx):
    port = free_port()
    run_pipyx(SERVE % {'port': port}, port=port)
    with RawClient(port) as c:
        c.send(req('/', headers=[('Upgrade', 'websocket'), ('Connection', 'Upgrade')]) + req('/two'))
        r = c.read_response()
        assert r.status == 200 and r.body == b'plain websocket\n' and not r.has('upgrade')
        assert c.read_response().status == 200


# ------------------------------------------------------------------------------------------------- CONNECT tunnels

FORWARD = '''
import asyncio
from pipyx import pipy, http_tunnel_target

def allow(host, port):
    return port == %(backend)d and host in ('127.0.0.1', 'localhost')

pipy().listen(%(port)d).demux_http().to(
    lambda p: p.accept_http_tunnel(allow).to(lambda p: p.connect(http_tunnel_target)))

async def allow_later(host, port):
    await asyncio.sleep(0.05)                  # (a lookup elsewhere, say)
    return '127.0.0.1:%(backend)d' if host == 'backend.test' else False

pipy().listen(%(later)d).demux_http().to(
    lambda p: p.accept_http_tunnel(allow_later).to(lambda p: p.connect(http_tunnel_target)))
'''


def curl(*args):
    return subprocess.run(['curl', '-sS', '--max-time', '5'] + list(args), capture_output=True, timeout=15)


@pytest.fixture
def forward(run_pipyx, backend):
    port = free_port()
    later = free_port()
    proc = run_pipyx(FORWARD % {'port': port, 'backend': backend, 'later': later}, port=port)
    proc.port, proc.later = port, later
    return proc


@pytest.mark.skipif(lacks('curl'), reason='curl is not installed')
def test_curl_through_accept_http_tunnel(forward, backend):
    out = curl('-p', '-x', 'http://127.0.0.1:%d' % forward.port, '-d', 'tunneled body',
               'http://127.0.0.1:%d/echo' % backend)
    assert out.returncode == 0, out.stderr
    assert b'tunneled body' in out.stdout


@pytest.mark.skipif(lacks('curl'), reason='curl is not installed')
def test_refused_connect_gets_403_and_a_log_line(forward, backend):
    out = curl('-p', '-x', 'http://127.0.0.1:%d' % forward.port, 'http://127.0.0.1:%d/echo' % (backend + 1))
    assert out.returncode != 0 and b'403' in out.stderr
    wait_for(lambda: 'refused with 403' in forward.log(), 5, what='the log line')


def test_awaited_on_connect_may_send_the_tunnel_elsewhere(forward, backend):
    with RawClient(forward.later) as c:
        c.send(b'CONNECT backend.test:1 HTTP/1.1\r\nHost: backend.test:1\r\n\r\n' + req('/echo', method='POST', body=b'x'))
        assert c.read_head()[1] == 200
        assert json.loads(c.read_response().body)['body'] == 'x'
    with RawClient(forward.later) as c:
        c.send(b'CONNECT other.test:1 HTTP/1.1\r\nHost: other.test:1\r\n\r\n')
        assert c.read_response().status == 403


def test_connect_tunnel_carries_bytes_both_ways_and_bad_targets_get_400(forward, backend):
    with RawClient(forward.port) as c:
        c.send(b'CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n' % (backend, backend)
               + req('/echo', method='POST', body=b'early bytes'))   # sent before the answer: kept for the tunnel
        _, status, reason, headers, _ = c.read_head()
        assert (status, reason) == (200, 'Connection Established')
        assert not {'content-length', 'transfer-encoding'} & {k for k, _ in headers}
        echoed = c.read_response()
        assert echoed.status == 200 and b'early bytes' in echoed.body
    with RawClient(forward.port) as c:
        c.send(b'CONNECT nowhere HTTP/1.1\r\nHost: nowhere\r\n\r\n')
        assert c.read_response().status == 400
    with RawClient(forward.port) as c:
        c.send(req('/not-connect'))
        assert c.read_response().status == 405


MQTT = '''
from pipyx import pipy, http_tunnel_target

def only_with_password(request):
    from pipyx import Message, ResponseHead
    if request.head.headers.get('proxy-authorization') != 'Basic dXNlcjpwYXNz':
        return Message(ResponseHead(407), 'who are you\\n')
    return None

pipy().listen(%(proxy)d).demux_http().to(
    lambda p: p.accept_http_tunnel(only_with_password).to(lambda p: p.connect(http_tunnel_target)))

for port, auth in ((%(good)d, 'Basic dXNlcjpwYXNz'), (%(bad)d, None)):
    pipy().listen(port).connect_http_tunnel('127.0.0.1:%(broker)d', authorization=auth).to(
        lambda p: p.mux_http().to(lambda p: p.connect('127.0.0.1:%(proxy)d')))
'''


def test_mqtt_over_connect_http_tunnel(run_pipyx, mosquitto):  # noqa: F811  (the fixture)
    from paho.mqtt import client as mqtt
    ports = {'proxy': free_port(), 'good': free_port(), 'bad': free_port(), 'broker': mosquitto.port}
    proc = run_pipyx(MQTT % ports, port=ports['good'])
    got = []
    done = threading.Event()
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id='through-tunnel')
    c.on_message = lambda client, userdata, msg: (got.append((msg.topic, msg.payload)), done.set())
    c.connect('127.0.0.1', ports['good'], keepalive=30)
    c.loop_start()
    try:
        c.subscribe('tunnel/test', qos=1)
        time.sleep(0.3)
        c.publish('tunnel/test', b'over http', qos=1)
        assert done.wait(5), proc.log()[-2000:]
        assert got == [('tunnel/test', b'over http')]
    finally:
        c.loop_stop()
        c.disconnect()
    # without the password the proxy answers 407: the client's connection is closed, with a log line
    bad = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id='no-password')
    refused = threading.Event()
    bad.on_disconnect = lambda *a: refused.set()
    bad.connect('127.0.0.1', ports['bad'], keepalive=30)
    bad.loop_start()
    try:
        assert refused.wait(5)
    finally:
        bad.loop_stop()
    wait_for(lambda: 'connect_http_tunnel to 127.0.0.1:%d: the proxy answered 407' % mosquitto.port in proc.log(),
             5, what='the log line')
