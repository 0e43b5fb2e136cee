"""What the MQTT tests share: a real mosquitto broker, raw clients made of a socket and pipyx.mqtt, paho clients.

A test module takes the fixtures by importing them: `from test.mqtt.support import mosquitto, raw_clients`.
"""
import collections
import contextlib
import os
import pwd
import queue
import shutil
import socket
import threading
import time

import pytest

from test.helpers import Process, RawClient, free_port, wait_for, wait_port
from pipyx.mqtt import PROPERTY_TABLE, MqttDecoder, MqttEncoder, Packet

MOSQUITTO = shutil.which('mosquitto') or '/usr/sbin/mosquitto'
TIMEOUT = 5.0


# ------------------------------------------------------------------ the broker

class Broker:
    """A running mosquitto: where it listens and where it logs."""

    def __init__(self, host, port, log_path, proc):
        self.host = host
        self.port = port
        self.log_path = log_path
        self.proc = proc

    def log(self):
        try:
            with open(self.log_path, encoding='utf-8', errors='replace') as f:
                return f.read()
        except FileNotFoundError:
            return ''

    def wait_log(self, text, timeout=TIMEOUT):
        """Waits until the broker's log contains `text`; returns the log."""
        if not wait_for(lambda: text in self.log(), timeout):
            raise AssertionError('mosquitto never logged %r; its log:\n%s' % (text, self.log()))
        return self.log()


@contextlib.contextmanager
def running_mosquitto(directory):
    """A mosquitto broker of its own on a free 127.0.0.1 port, anonymous, without persistence, logging everything
    to directory/mosquitto.log; stopped by its pid on leaving."""
    if not os.access(MOSQUITTO, os.X_OK):
        pytest.fail('mosquitto is not installed (apt-get install mosquitto): %s' % MOSQUITTO)
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = directory / 'mosquitto.log'
    conf = directory / 'mosquitto.conf'
    conf.write_text('\n'.join([
        'listener %d 127.0.0.1' % port,
        'allow_anonymous true',
        'persistence false',
        'max_connections -1',
        'log_dest file %s' % log_path,
        'log_type all',
        'log_timestamp false',
        # mosquitto started as root switches to this user; staying the same one keeps the directory writable
        'user %s' % pwd.getpwuid(os.getuid()).pw_name,
        '']))
    proc = Process([MOSQUITTO, '-c', conf], log_dir=directory, name='mosquitto')
    try:
        broker = Broker('127.0.0.1', port, str(log_path), proc.proc)
        if not wait_port(port, 10.0, proc.proc):
            raise AssertionError('mosquitto did not listen on %d:\n%s\n%s' % (port, proc.log(), broker.log()))
        yield broker
    finally:
        proc.stop(5.0)


@pytest.fixture
def mosquitto(tmp_path):
    """A broker of the test's own (see running_mosquitto)."""
    with running_mosquitto(tmp_path) as broker:
        yield broker


# ------------------------------------------------------------------ a client made of pipyx.mqtt alone

class RawMqttClient(RawClient):
    """An MQTT client that speaks through MqttEncoder and MqttDecoder over a raw socket, one packet at a time.
    Its protocol level is the one of the CONNECT it sends (connect()'s `level`)."""

    def __init__(self, broker, level=4, max_packet_size=1 << 20):
        super().__init__(broker.port, TIMEOUT, host=broker.host)
        self.level = level
        self.state = {}
        self.encoder = MqttEncoder(self.state)
        self.decoder = MqttDecoder(self.state, max_packet_size)
        self.received = collections.deque()
        self._ids = iter(range(1, 65536))

    def next_id(self):
        return next(self._ids)

    def send(self, data, payload=b''):
        """A Packet (with its payload), encoded; bytes go as they are."""
        if isinstance(data, Packet):
            data = self.encoder.encode(data, payload)
        super().send(data)

    def _read(self, timeout):
        self.sock.settimeout(timeout)
        data = self.sock.recv(65536)
        if not data:
            raise AssertionError('the broker closed the connection; unclaimed: %r' % list(self.received))
        self.received.extend(self.decoder.feed(data))

    def expect(self, type, timeout=TIMEOUT):
        """The first (Packet, payload) of this type from the broker; packets of other types stay queued, in order
        (a client subscribed to what it publishes gets the PUBLISH before its PUBACK)."""
        deadline = time.monotonic() + timeout
        while True:
            for item in self.received:
                if item[0].type == type:
                    self.received.remove(item)
                    return item
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise socket.timeout()
                self._read(left)
            except socket.timeout:
                raise AssertionError('no %s within %ss; unclaimed: %r' % (type, timeout, list(self.received)))

    def connect(self, client_id='', clean_start=True, keep_alive=60, **fields):
        self.send(Packet('CONNECT', protocol_level=self.level, client_id=client_id, clean_start=clean_start,
                         keep_alive=keep_alive, **fields))
        head, _ = self.expect('CONNACK')
        assert head.reason_code == 0, head
        return head

    def subscribe(self, *subscriptions, properties=None):
        """subscribe(('a/#', 1), ...) -> the SUBACK."""
        pid = self.next_id()
        self.send(Packet('SUBSCRIBE', packet_id=pid, subscriptions=list(subscriptions), properties=properties))
        head, _ = self.expect('SUBACK')
        assert head.packet_id == pid, head
        return head

    def publish(self, topic, payload, qos=0, retain=False, properties=None):
        """Publishes and completes the QoS flow as the sender; returns the acks received."""
        pid = self.next_id() if qos else None
        self.send(Packet('PUBLISH', qos=qos, retain=retain, packet_id=pid, topic=topic, properties=properties),
                  payload)
        if qos == 1:
            return [self.expect('PUBACK')[0]]
        if qos == 2:
            rec, _ = self.expect('PUBREC')
            self.send(Packet('PUBREL', packet_id=pid))
            return [rec, self.expect('PUBCOMP')[0]]
        return []

    def receive(self, timeout=TIMEOUT):
        """The next PUBLISH, with its QoS flow completed as the receiver: (Packet, payload)."""
        head, payload = self.expect('PUBLISH', timeout)
        if head.qos == 1:
            self.send(Packet('PUBACK', packet_id=head.packet_id))
        elif head.qos == 2:
            self.send(Packet('PUBREC', packet_id=head.packet_id))
            rel, _ = self.expect('PUBREL', timeout)
            assert rel.packet_id == head.packet_id, rel
            self.send(Packet('PUBCOMP', packet_id=head.packet_id))
        return head, payload

    def disconnect(self, **fields):
        self.send(Packet('DISCONNECT', **fields))
        self.wait_closed()

    def wait_closed(self, timeout=TIMEOUT):
        """Waits for the broker to close the connection (packets still in flight are kept in `received`)."""
        self.sock.settimeout(timeout)
        while True:
            data = self.sock.recv(65536)
            if not data:
                return
            self.received.extend(self.decoder.feed(data))

    def drop(self):
        """Closes the socket without a DISCONNECT, as a device losing its network would."""
        self.sock.close()


@pytest.fixture
def raw_clients(mosquitto):
    """raw_clients(level=4) -> a new RawMqttClient of the test's broker (not yet connected); all closed afterwards."""
    made = []

    def make(level=4, **options):
        client = RawMqttClient(mosquitto, level, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


# ------------------------------------------------------------------ paho-mqtt, an independent implementation

# pipyx.mqtt's snake_case property names -> paho's attribute names ('Maximum QoS' -> 'MaximumQoS'), by id.
def _paho_names():
    from paho.mqtt.properties import Properties
    from paho.mqtt.packettypes import PacketTypes
    by_id = {pid: name.replace(' ', '') for name, pid in Properties(PacketTypes.PUBLISH).names.items()}
    return {PROPERTY_TABLE[pid][0]: by_id[pid] for pid in PROPERTY_TABLE}


def to_paho_properties(props, packet_type='PUBLISH'):
    from paho.mqtt.properties import Properties
    from paho.mqtt.packettypes import PacketTypes
    names = _paho_names()
    out = Properties(getattr(PacketTypes, packet_type))
    for name, value in props.items():
        if name == 'user_property':
            for pair in value:
                out.UserProperty = tuple(pair)
        else:
            setattr(out, names[name], value)
    return out


def from_paho_properties(props):
    """A paho Properties object as a pipyx.mqtt properties dict."""
    if props is None:
        return {}
    out = {}
    for snake, paho in _paho_names().items():
        if hasattr(props, paho):
            out[snake] = getattr(props, paho)
    return out


class PahoClient:
    """A paho-mqtt 2.x client on its own network thread, with blocking subscribe/publish and a message queue."""

    def __init__(self, broker, level=5, client_id=''):
        from paho.mqtt import client as mqtt
        self.mqtt = mqtt
        protocol = mqtt.MQTTv5 if level == 5 else mqtt.MQTTv311
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol)
        self.messages = queue.Queue()
        self._acks = queue.Queue()
        connected = threading.Event()
        self.client.on_connect = lambda client, userdata, flags, code, props: connected.set()
        self.client.on_message = lambda client, userdata, message: self.messages.put(message)
        self.client.on_subscribe = lambda client, userdata, mid, codes, props: self._acks.put((mid, codes))
        self.client.connect(broker.host, broker.port, keepalive=30)
        self.client.loop_start()
        if not connected.wait(TIMEOUT):
            self.close()
            raise AssertionError('paho did not connect to %s:%d' % (broker.host, broker.port))

    def subscribe(self, topic, qos=0):
        _, mid = self.client.subscribe(topic, qos)
        got, codes = self._acks.get(timeout=TIMEOUT)
        assert got == mid, (got, mid)
        return codes

    def publish(self, topic, payload, qos=0, retain=False, properties=None):
        props = to_paho_properties(properties) if properties else None
        info = self.client.publish(topic, payload, qos, retain, props)
        info.wait_for_publish(TIMEOUT)
        assert info.is_published(), 'paho did not complete the publish of %r' % topic

    def message(self, timeout=TIMEOUT):
        """The next message received (a paho MQTTMessage)."""
        return self.messages.get(timeout=timeout)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def paho_clients(mosquitto):
    """paho_clients(level=5) -> a connected PahoClient of the test's broker; all disconnected afterwards."""
    made = []

    def make(level=5, client_id=''):
        client = PahoClient(mosquitto, level, client_id)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
