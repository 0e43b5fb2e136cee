"""samples/mqtt-proxy and the filters it is made of (decode_mqtt, encode_mqtt, throttle_message_rate), against real
mosquitto brokers and clients."""
import os
import socket
import time
import types

import pytest

from test.helpers import ROOT, free_port, wait_for
from test.mqtt.support import RawMqttClient, running_mosquitto
from pipyx.mqtt import Packet

SAMPLE = os.path.join(ROOT, 'samples', 'mqtt-proxy', 'main.py')


@pytest.fixture
def brokers(tmp_path):
    """Two brokers: `default` and `sensors`."""
    with running_mosquitto(tmp_path / 'default') as default, running_mosquitto(tmp_path / 'sensors') as sensors:
        yield types.SimpleNamespace(default=default, sensors=sensors)


def start_proxy(run_pipyx, brokers, **env):
    port = free_port()
    env = dict({'LISTEN': '127.0.0.1:%d' % port, 'BROKER': '127.0.0.1:%d' % brokers.default.port,
                'ROUTES': 'sensor-*=127.0.0.1:%d' % brokers.sensors.port, 'PUBLISH_RATE': '1000'}, **env)
    proc = run_pipyx(path=SAMPLE, port=port, env=env)
    return proc, types.SimpleNamespace(host='127.0.0.1', port=port)


def test_clients_are_routed_by_client_id(run_pipyx, brokers):
    _, proxy = start_proxy(run_pipyx, brokers)
    watch_sensors = RawMqttClient(brokers.sensors)
    watch_sensors.connect('watch-sensors')
    watch_sensors.subscribe(('t/#', 1))
    watch_default = RawMqttClient(brokers.default)
    watch_default.connect('watch-default')
    watch_default.subscribe(('t/#', 1))

    sensor = RawMqttClient(proxy)
    sensor.connect('sensor-7')
    sensor.publish('t/a', b'from a sensor', qos=1)
    app = RawMqttClient(proxy, level=5)
    app.connect('app-1')
    app.publish('t/b', b'from an app', qos=1, properties={'user_property': [('k', 'v')]})

    head, payload = watch_sensors.receive()
    assert (head.topic, payload) == ('t/a', b'from a sensor')
    head, payload = watch_default.receive()
    assert (head.topic, payload) == ('t/b', b'from an app')
    # each broker saw only its own client
    assert 'sensor-7' in brokers.sensors.log() and 'sensor-7' not in brokers.default.log()
    assert 'app-1' in brokers.default.log() and 'app-1' not in brokers.sensors.log()
    with pytest.raises(AssertionError):
        watch_sensors.receive(timeout=0.3)


def test_mqtt5_session_goes_through_unchanged(run_pipyx, brokers):
    _, proxy = start_proxy(run_pipyx, brokers)
    sub = RawMqttClient(proxy, level=5)
    connack = sub.connect('app-sub', properties={'session_expiry_interval': 60})
    assert connack.properties.get('topic_alias_maximum') is not None or connack.reason_code == 0
    sub.subscribe(('v5/#', {'qos': 2, 'no_local': False, 'retain_as_published': False, 'retain_handling': 0}))
    pub = RawMqttClient(proxy, level=5)
    pub.connect('app-pub')
    props = {'content_type': 'text/plain', 'user_property': [('a', '1'), ('b', '2')]}
    pub.publish('v5/x', b'payload-2', qos=2, properties=props)
    head, payload = sub.receive()
    assert payload == b'payload-2' and head.qos == 2
    assert head.properties['content_type'] == 'text/plain'
    assert head.properties['user_property'] == [('a', '1'), ('b', '2')]


def test_publishes_are_rate_limited_per_client(run_pipyx, brokers):
    _, proxy = start_proxy(run_pipyx, brokers, PUBLISH_RATE='20', PUBLISH_BURST='5')
    watch = RawMqttClient(brokers.default)
    watch.connect('watch')
    watch.subscribe(('rate/#', 0))

    fast = RawMqttClient(proxy)
    fast.connect('app-fast')
    other = RawMqttClient(proxy)
    other.connect('app-other')

    started = time.monotonic()
    for i in range(45):                   # 5 in the burst, then 40 at 20 a second: about 2 s
        fast.publish('rate/fast', b'%d' % i)
    got = []
    other_seen_at = None
    for _ in range(45):
        if other_seen_at is None and len(got) == 10:
            other.publish('rate/other', b'x')    # another client's quota is its own: not queued behind the fast one
        head, payload = watch.receive(timeout=10)
        if head.topic == 'rate/other':
            other_seen_at = time.monotonic()
            head, payload = watch.receive(timeout=10)
        got.append(int(payload))
    elapsed = time.monotonic() - started
    assert got == list(range(45)), 'every publish arrives, in order'
    assert 1.6 < elapsed < 6, elapsed
    assert other_seen_at is not None and other_seen_at - started < 1.5, other_seen_at - started

    # SUBSCRIBE and PINGREQ are not publishes: they are not held back by the publish quota... once it has refilled
    time.sleep(0.3)
    t = time.monotonic()
    fast.send(Packet('PINGREQ'))
    fast.expect('PINGRESP')
    assert time.monotonic() - t < 0.5


def test_malformed_packet_closes_only_that_connection(run_pipyx, brokers):
    proc, proxy = start_proxy(run_pipyx, brokers)
    good = RawMqttClient(proxy)
    good.connect('app-good')

    bad = socket.create_connection((proxy.host, proxy.port), 5)
    bad.sendall(b'\x10\xff\xff\xff\xff\x7f')          # a remaining length of five bytes
    bad.settimeout(5)
    assert bad.recv(100) == b''                      # closed by the proxy
    wait_for(lambda: 'decode_mqtt' in proc.log())
    line = [l for l in proc.log().splitlines() if 'decode_mqtt' in l]
    assert line and 'main.py:' in line[0] and 'closing the stream' in line[0], proc.log()

    big = socket.create_connection((proxy.host, proxy.port), 5)
    big.sendall(b'\x30\xff\xff\x7f')                 # a PUBLISH of 2 MiB: over max_packet_size, refused at once
    big.settimeout(5)
    assert big.recv(100) == b''

    good.publish('still/ok', b'1', qos=1)            # the other connection was not disturbed
    good.disconnect()


def test_connect_to_an_absent_broker_closes_the_client(run_pipyx, brokers):
    _, proxy = start_proxy(run_pipyx, brokers, ROUTES='sensor-*=127.0.0.1:%d' % free_port())
    c = RawMqttClient(proxy)
    c.send(Packet('CONNECT', client_id='sensor-lost', clean_start=True, keep_alive=30))
    c.sock.settimeout(5)
    assert c.sock.recv(100) == b''
