"""The IoT muxer (samples/mqtt-muxer/), end to end: devices -> edge.py -> at most TUNNELS tunnel connections ->
cloud.py -> a real mosquitto. For a device the muxer must be invisible: every behaviour it would see connected
straight to the broker (QoS flows, wills, keep-alive, sessions, takeover, a lost connection) it sees through the
edge too, while the cloud holds at most TUNNELS connections from the edge.

The devices are paho-mqtt clients, all driven from one thread (Fleet) through a selector and paho's external-loop
API, so hundreds of them cost one thread; mosquitto_pub publishes where a plain publisher is enough.
"""
import asyncio
import collections
import os
import re
import resource
import selectors
import socket
import struct
import subprocess
import threading
import time
import uuid

import pytest

import conftest
from paho.mqtt import client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from conftest import ROOT, free_port
from mqtt_support import mosquitto  # noqa: F401  (the fixture)

HOST = '127.0.0.1'
SAMPLE = os.path.join(ROOT, 'samples', 'mqtt-muxer')
TIMEOUT = 10.0
PROMPTLY = 2.0        # how soon a device must see its connection closed when its path to the broker is gone


def raise_nofile_limit():
    """500 devices hold 500 sockets here and in every process on their path (which inherit the limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 1 << 16
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


raise_nofile_limit()


def unique(prefix):
    return '%s-%s' % (prefix, uuid.uuid4().hex[:10])


def wait_for(predicate, timeout=TIMEOUT, what='condition', interval=0.02):
    return conftest.wait_for(predicate, timeout, what, interval)


# ------------------------------------------------------------------------------------------ counting connections

def established(*ports):
    """How many established IPv4 TCP connections have each local port (the ones a listener on it accepted): one
    number for one port, else a list. /proc/net/tcp is read a page at a time, and a connection opened or closed
    meanwhile can make another one appear twice: connections are counted by their remote address, once."""
    local = {'0100007F:%04X' % port: set() for port in ports}
    with open('/proc/net/tcp') as f:
        next(f)
        for line in f:
            _, address, remote, state = line.split(None, 4)[:4]
            if state == '01' and address in local:
                local[address].add(remote)
    counts = [len(remotes) for remotes in local.values()]
    return counts[0] if len(ports) == 1 else counts


class ConnectionSampler(threading.Thread):
    """Counts the established connections on some listening ports every `interval` seconds, in the background,
    for as long as the test runs; keeps each port's highest count."""

    def __init__(self, *ports, interval=0.02):
        super().__init__(daemon=True)
        self.ports = ports
        self.interval = interval
        self.highest = dict.fromkeys(ports, 0)
        self.samples = 0
        self.stopping = threading.Event()
        self.start()

    def run(self):
        while not self.stopping.is_set():
            counts = established(*self.ports) if len(self.ports) > 1 else [established(*self.ports)]
            for port, n in zip(self.ports, counts):
                self.highest[port] = max(self.highest[port], n)
            self.samples += 1
            self.stopping.wait(self.interval)

    def stop(self):
        self.stopping.set()
        self.join(5)


@pytest.fixture
def samplers():
    started = []

    def start(*ports, interval=0.02):
        s = ConnectionSampler(*ports, interval=interval)
        started.append(s)
        return s
    yield start
    for s in started:
        s.stop()


# --------------------------------------------------------------------------------------------------- the muxer

class Muxer:
    """cloud.py and edge.py from the sample, started as real processes with their environment variables."""

    def __init__(self, run_pipyx, broker):
        self.run_pipyx = run_pipyx
        self.broker = broker
        self.cloud = self.edge = None
        self.cloud_port = self.edge_port = None

    def start_cloud(self, port=None):
        self.cloud_port = port or self.cloud_port or free_port()
        self.cloud = self.run_pipyx(path=os.path.join(SAMPLE, 'cloud.py'), port=self.cloud_port, env={
            'LISTEN': '%s:%d' % (HOST, self.cloud_port), 'BROKER': '%s:%d' % (HOST, self.broker.port)})
        # wait_ready's probe is a connection too: let the cloud see it end before anyone counts tunnels
        wait_for(lambda: established(self.cloud_port) == 0, what='the readiness probe to leave the cloud')
        return self.cloud

    def start_edge(self, tunnels, cloud_port=None):
        self.edge_port = free_port()
        self.edge = self.run_pipyx(path=os.path.join(SAMPLE, 'edge.py'), port=self.edge_port, env={
            'LISTEN': '%s:%d' % (HOST, self.edge_port), 'CLOUD': '%s:%d' % (HOST, cloud_port or self.cloud_port),
            'TUNNELS': str(tunnels)})
        return self.edge

    def stop(self):
        # The edge first: a cloud stopped while an edge still holds its tunnels open waits out its drain timeout
        # for them, as for any connection that is not HTTP (docs/reference.md, Stopping).
        for p in (self.edge, self.cloud):
            if p is not None:
                p.stop()

    def logs(self):
        return '--- edge log:\n%s\n--- cloud log:\n%s' % (self.edge.log() if self.edge else '',
                                                          self.cloud.log() if self.cloud else '')


@pytest.fixture
def muxer(run_pipyx, mosquitto):
    m = Muxer(run_pipyx, mosquitto)
    yield m
    m.stop()


# ---------------------------------------------------------------------------------------------------- devices

class Device:
    """One paho-mqtt client driven by a Fleet; everything that happens to it is recorded with the time it happened.
    All its paho calls run on the fleet's thread (Fleet.call)."""

    def __init__(self, fleet, client_id, port, level=4, clean=True, keepalive=60, will=None, inbox=None,
                 inbox_qos=2, session_expiry=None):
        self.fleet = fleet
        self.client_id = client_id
        self.port = port
        self.level = level
        self.clean = clean
        self.keepalive = keepalive
        self.inbox = inbox                  # subscribed to (at inbox_qos) on every CONNACK that accepts it
        self.inbox_qos = inbox_qos
        self.session_expiry = session_expiry
        kwargs = {'protocol': mqtt.MQTTv5} if level == 5 else {'protocol': mqtt.MQTTv311, 'clean_session': clean}
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, userdata=self, **kwargs)
        if will is not None:
            topic, payload, qos = will
            props = None
            if level == 5:
                props = Properties(PacketTypes.WILLMESSAGE)
                props.WillDelayInterval = 0
            self.client.will_set(topic, payload, qos, False, props)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_publish = self._on_publish
        self.client.on_message = self._on_message
        fleet.attach(self)
        self.driven = True                  # its loop is run by the fleet (False: silenced or dropped)
        self.local_port = None              # of its current socket
        self.connacks = []                  # (time, session_present, reason code)
        self.disconnects = []               # (time, reason code, whether the server sent a DISCONNECT)
        self.subacks = []                   # (time, [granted QoS or reason codes])
        self.messages = []                  # (time, topic, payload, qos)
        self.completed = set()              # mids of this device's publishes that paho reports complete
        self.published = []                 # (mid, qos)

    @property
    def connected(self):
        return bool(self.connacks) and self.connacks[-1][2] == 0 and (
            not self.disconnects or self.disconnects[-1][0] < self.connacks[-1][0])

    def payloads(self):
        return [m[2] for m in self.messages]

    # paho callbacks, on the fleet's thread
    def _on_connect(self, client, userdata, flags, reason_code, properties):
        self.connacks.append((time.monotonic(), flags.session_present, reason_code.value))
        if reason_code.value == 0 and self.inbox:
            client.subscribe(self.inbox, self.inbox_qos)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self.disconnects.append((time.monotonic(), reason_code.value, flags.is_disconnect_packet_from_server))

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        self.subacks.append((time.monotonic(), [rc.value for rc in reason_codes]))

    def _on_publish(self, client, userdata, mid, reason_code, properties):
        self.completed.add(mid)

    def _on_message(self, client, userdata, message):
        self.messages.append((time.monotonic(), message.topic, message.payload, message.qos))

    # actions, on the fleet's thread
    def connect(self):
        props = None
        if self.level == 5 and self.session_expiry is not None:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = self.session_expiry
        kwargs = {'clean_start': self.clean, 'properties': props} if self.level == 5 else {}
        try:
            self.client.connect(HOST, self.port, self.keepalive, **kwargs)
        except OSError as e:
            self.disconnects.append((time.monotonic(), repr(e), False))
        self.driven = True

    def reconnect(self):
        try:
            self.client.reconnect()
        except OSError as e:
            self.disconnects.append((time.monotonic(), repr(e), False))
        self.driven = True

    def publish(self, topic, payload, qos):
        info = self.client.publish(topic, payload, qos)
        assert info.rc == mqtt.MQTT_ERR_SUCCESS, (self.client_id, info.rc)
        self.published.append((info.mid, qos))
        return info.mid

    def subscribe(self, topic, qos):
        result, mid = self.client.subscribe(topic, qos)
        assert result == mqtt.MQTT_ERR_SUCCESS, (self.client_id, result)
        return mid

    def disconnect(self, reason=None):
        if reason is None:
            self.client.disconnect()
        else:
            self.client.disconnect(ReasonCode(PacketTypes.DISCONNECT, identifier=reason))


class Fleet:
    """paho clients driven from one thread: a selector over their sockets and paho's external-loop API
    (loop_read, loop_write, loop_misc, and the socket callbacks that say when a client wants to write).
    The test thread hands work to that thread with call() and watches what the devices record."""

    MISC_INTERVAL = 0.1                     # paho's keep-alive pings are sent from loop_misc

    def __init__(self):
        self.selector = selectors.DefaultSelector()
        self.wake_r, self.wake_w = socket.socketpair()
        self.wake_r.setblocking(False)
        self.wake_w.setblocking(False)
        self.selector.register(self.wake_r, selectors.EVENT_READ, None)
        self.devices = []
        self.calls = collections.deque()
        self.errors = []
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name='fleet', daemon=True)
        self.thread.start()

    def attach(self, device):
        c = device.client
        c.on_socket_open = self._socket_open
        c.on_socket_close = self._socket_close
        c.on_socket_register_write = self._register_write
        c.on_socket_unregister_write = self._unregister_write
        self.devices.append(device)

    def device(self, *args, **kwargs):
        return Device(self, *args, **kwargs)

    def call(self, fn, *args, timeout=TIMEOUT):
        """Runs fn(*args) on the fleet's thread; returns its result or raises its exception."""
        done = threading.Event()
        box = {}

        def run():
            try:
                box['value'] = fn(*args)
            except BaseException as e:          # handed to the caller
                box['error'] = e
            finally:
                done.set()
        self.calls.append(run)
        self._wake()
        if not done.wait(timeout):
            raise AssertionError('the fleet thread did not run %r within %ss' % (fn, timeout))
        if 'error' in box:
            raise box['error']
        return box.get('value')

    def silence(self, device):
        """The device stops: its loop is no longer run, so it sends nothing (not even a PINGREQ) and reads
        nothing. Returns its socket, which is the caller's from now on."""
        def stop():
            device.driven = False
            sock = device.client.socket()
            try:
                self.selector.unregister(sock)
            except (KeyError, ValueError):
                pass
            return sock
        return self.call(stop)

    def drop(self, device, reset=False):
        """The device vanishes without a DISCONNECT: its socket is closed under paho (with a reset when
        `reset`), as when a device loses power."""
        sock = self.silence(device)
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        sock.close()

    def stop(self):
        def close_all():
            for d in self.devices:
                sock = d.client.socket()
                if sock is not None:
                    try:
                        self.selector.unregister(sock)
                    except (KeyError, ValueError):
                        pass
                    sock.close()
        try:
            self.call(close_all)
        finally:
            self.stopping = True
            self._wake()
            self.thread.join(5)

    def _wake(self):
        try:
            self.wake_w.send(b'x')
        except BlockingIOError:
            pass

    # paho's socket callbacks (on the fleet's thread)
    def _socket_open(self, client, device, sock):
        device.local_port = sock.getsockname()[1]
        self.selector.register(sock, selectors.EVENT_READ, device)

    def _socket_close(self, client, device, sock):
        try:
            self.selector.unregister(sock)
        except (KeyError, ValueError):
            pass

    def _register_write(self, client, device, sock):
        if device.driven:
            self.selector.modify(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, device)

    def _unregister_write(self, client, device, sock):
        try:
            self.selector.modify(sock, selectors.EVENT_READ, device)
        except (KeyError, ValueError):
            pass

    def _run(self):
        next_misc = 0.0
        while not self.stopping:
            try:
                for key, mask in self.selector.select(0.05):
                    device = key.data
                    if device is None:
                        try:
                            self.wake_r.recv(4096)
                        except BlockingIOError:
                            pass
                        continue
                    if not device.driven:
                        continue
                    if mask & selectors.EVENT_READ:
                        device.client.loop_read()
                    if mask & selectors.EVENT_WRITE and device.client.socket() is not None:
                        device.client.loop_write()
                while self.calls:
                    self.calls.popleft()()
                now = time.monotonic()
                if now >= next_misc:
                    next_misc = now + self.MISC_INTERVAL
                    for device in self.devices:
                        if device.driven and device.client.socket() is not None:
                            device.client.loop_misc()
            except Exception as e:                  # reported when the test ends
                self.errors.append(e)


@pytest.fixture
def fleet():
    f = Fleet()
    try:
        yield f
    finally:
        f.stop()
    assert not f.errors, 'the fleet thread failed: %r' % f.errors


def connect_all(fleet, devices, what='the devices to connect'):
    fleet.call(lambda: [d.connect() for d in devices])
    wait_for(lambda: all(d.connected for d in devices), what=what)


def mosquitto_pub(broker, topic, payload, qos=1, client_id=None):
    args = ['mosquitto_pub', '-h', HOST, '-p', str(broker.port), '-t', topic, '-m', payload, '-q', str(qos)]
    if client_id:
        args += ['-i', client_id]
    subprocess.run(args, check=True, timeout=TIMEOUT, capture_output=True)


# -------------------------------------------------------------------------- a relay between the edge and the cloud

class TunnelRelay:
    """A TCP relay between the edge and the cloud, on an asyncio loop in a thread of its own. It reads the channels'
    OPEN frames (docs/tunnel.md) going to the cloud, so it knows which devices (by the port they connected from)
    ride in which tunnel connection, and it can abort one tunnel connection with a reset on both sides."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.tunnels = []                   # every connection accepted, in order: dicts
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name='relay', daemon=True)
        self.thread.start()
        self.port = self._call(self._start())

    def _call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(TIMEOUT)

    async def _start(self):
        self.server = await asyncio.start_server(self._accept, HOST, 0)
        return self.server.sockets[0].getsockname()[1]

    async def _accept(self, edge_r, edge_w):
        tunnel = {'writers': [edge_w], 'device_ports': set(), 'open': True}
        self.tunnels.append(tunnel)
        try:
            cloud_r, cloud_w = await asyncio.open_connection(HOST, self.target_port)
        except OSError:
            edge_w.close()
            tunnel['open'] = False
            return
        tunnel['writers'].append(cloud_w)
        frames = bytearray()

        def watch(data):
            frames.extend(data)
            while len(frames) >= 8:
                length = int.from_bytes(frames[1:4], 'big')
                if len(frames) < 8 + length:
                    break
                if frames[0] == 1:              # OPEN: 'device-address device-port edge-address edge-port'
                    fields = bytes(frames[8:8 + length]).split()
                    if len(fields) == 4:
                        tunnel['device_ports'].add(int(fields[1]))
                del frames[:8 + length]

        async def pump(reader, writer, other, inspect):
            try:
                while True:
                    data = await reader.read(65536)
                    if not data:
                        break
                    if inspect:
                        watch(data)
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                tunnel['open'] = False
                writer.close()
                other.close()
        await asyncio.gather(pump(edge_r, cloud_w, edge_w, True), pump(cloud_r, edge_w, cloud_w, False))

    def abort(self, tunnel):
        """Resets both sides of one tunnel connection, as a network failure would."""
        async def abort():
            tunnel['open'] = False
            for w in tunnel['writers']:
                try:
                    w.get_extra_info('socket').setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                                          struct.pack('ii', 1, 0))
                except OSError:
                    pass
                w.transport.abort()
        self._call(abort())

    def stop(self):
        async def stop():
            self.server.close()
            for t in self.tunnels:
                for w in t['writers']:
                    w.transport.abort()
        try:
            self._call(stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)


@pytest.fixture
def relays():
    started = []

    def start(target_port):
        r = TunnelRelay(target_port)
        started.append(r)
        return r
    yield start
    for r in started:
        r.stop()


# ------------------------------------------------------------------------------------------------------ the tests

DEVICES = 500
TUNNELS = 3
# What each device publishes to the next device's inbox: two messages at each QoS.
SENDS = (1, 1, 2, 2, 0, 0)


def test_500_devices_through_three_tunnels(mosquitto, muxer, fleet, samplers):
    """The acceptance test: 500 devices at once, each with its own broker session, over TUNNELS connections."""
    muxer.start_cloud()
    muxer.start_edge(TUNNELS)
    counts = samplers(muxer.cloud_port, mosquitto.port)
    run = unique('fleet')
    devices = [fleet.device('%s-%d' % (run, i), muxer.edge_port, inbox='%s/inbox/%d' % (run, i))
               for i in range(DEVICES)]
    t0 = time.monotonic()

    # Connect in batches, so the devices' CONNECTs, SUBSCRIBEs and their answers overlap.
    for i in range(0, DEVICES, 100):
        fleet.call(lambda batch=devices[i:i + 100]: [d.connect() for d in batch])
    wait_for(lambda: all(d.subacks for d in devices), 30, 'every device to connect and subscribe')
    connected = time.monotonic()
    assert all(d.connacks[0][2] == 0 and not d.connacks[0][1] for d in devices)
    assert all(d.subacks[0][1] == [2] for d in devices), 'QoS 2 inbox subscriptions were not granted'
    assert established(muxer.cloud_port) == TUNNELS, muxer.logs()
    assert established(mosquitto.port) == DEVICES

    # Every device publishes to the next device's inbox; the payload says who sent it, which one and at what QoS.
    def send_all():
        for i, d in enumerate(devices):
            target = devices[(i + 1) % DEVICES]
            for seq, qos in enumerate(SENDS):
                d.publish(target.inbox, b'%s|%d|%d' % (d.client_id.encode(), seq, qos), qos)
    fleet.call(send_all)
    expected = DEVICES * len(SENDS)

    def delivered():
        return (sum(len(d.messages) for d in devices) >= expected and
                all(len(d.completed) == len(SENDS) for d in devices))
    wait_for(delivered, 30, 'every message to be delivered and every publish to complete')
    # A QoS 1 duplicate or a stray message would come right behind the rest: give it a moment to show up.
    time.sleep(0.3)
    finished = time.monotonic()

    missing, duplicates, wrong = [], [], []
    for i, d in enumerate(devices):
        sender = devices[i - 1]
        want = {b'%s|%d|%d' % (sender.client_id.encode(), seq, qos): qos for seq, qos in enumerate(SENDS)}
        got = collections.Counter()
        for _, topic, payload, qos in d.messages:
            if topic != d.inbox or want.get(payload) != qos:
                wrong.append((d.client_id, topic, payload, qos))
            got[payload] += 1
        for payload, qos in want.items():
            if got[payload] == 0:
                missing.append((d.client_id, payload))
            elif got[payload] > 1 and qos != 1:          # QoS 1 is at least once; QoS 0 and 2 at most once
                duplicates.append((d.client_id, payload, got[payload]))
    assert not wrong, 'messages at the wrong device, or with the wrong payload or QoS: %r' % wrong[:10]
    assert not duplicates, 'QoS 0/2 messages delivered more than once: %r' % duplicates[:10]
    # Every QoS 1 and QoS 2 message must arrive. QoS 0 may be lost in principle, but here nothing can lose one: no
    # connection drops (asserted below), TCP on loopback does not lose bytes, the tunnel holds back a channel that
    # is out of credit rather than dropping its bytes, and mosquitto drops a QoS 0 message only for a client that is
    # offline or over its queue limits (each inbox gets 6 messages). So all of them are required.
    assert not missing, '%d messages never arrived, e.g. %r' % (len(missing), missing[:10])
    assert not any(d.disconnects for d in devices), [d.disconnects for d in devices if d.disconnects][:5]

    # The tunnels: never more than TUNNELS connections at the cloud, and all of them in use under this load.
    assert counts.highest[muxer.cloud_port] == TUNNELS, (counts.highest, counts.samples)
    # The broker: one connection and one session per device, all at once.
    assert counts.highest[mosquitto.port] == DEVICES, counts.highest
    log = mosquitto.log()
    sessions = re.findall(r'New client connected from 127\.0\.0\.1:(\d+) as (%s-\d+) ' % run, log)
    assert len({cid for _, cid in sessions}) == DEVICES
    assert len({port for port, _ in sessions}) == DEVICES

    # Devices leave cleanly: each DISCONNECT reaches the broker, which closes that device's connection, and the
    # end comes back through the tunnel; the tunnels themselves stay up for the next devices.
    fleet.call(lambda: [d.disconnect() for d in devices])
    wait_for(lambda: established(mosquitto.port) == 0, 20, 'the broker connections to close')
    assert mosquitto.log().count('Received DISCONNECT from %s-' % run) == DEVICES
    assert established(muxer.cloud_port) == TUNNELS
    assert counts.highest[muxer.cloud_port] == TUNNELS
    took = finished - t0
    print('%d devices: connected and subscribed in %.1fs, %d messages in %.1fs, %d tunnel samples' % (
        DEVICES, connected - t0, expected, finished - connected, counts.samples))
    assert took < 45, 'the exchange took %.1fs' % took


def will_subscriber(fleet, mosquitto, topic):
    """A device straight at the broker, subscribed (QoS 1) to every will of the test."""
    sub = fleet.device(unique('will-watcher'), mosquitto.port, inbox=topic, inbox_qos=1)
    connect_all(fleet, [sub])
    wait_for(lambda: sub.subacks, what='the will watcher to subscribe')
    return sub


@pytest.mark.parametrize('level', [4, 5])
def test_will_is_published_when_a_device_vanishes_and_not_after_disconnect(mosquitto, muxer, fleet, level):
    muxer.start_cloud()
    muxer.start_edge(TUNNELS)
    run = unique('will')
    straight = will_subscriber(fleet, mosquitto, run + '/#')
    muxed = fleet.device(unique('will-watcher'), muxer.edge_port, inbox=run + '/#', inbox_qos=1)
    connect_all(fleet, [muxed])
    wait_for(lambda: muxed.subacks, what='the muxed will watcher to subscribe')

    def device(name):
        return fleet.device('%s-%s' % (run, name), muxer.edge_port, level=level,
                            will=('%s/%s' % (run, name), b'%s is gone' % name.encode(), 1))
    closed, reset, left = device('closed'), device('reset'), device('left')
    devices = [closed, reset, left]
    if level == 5:
        left_with_will = device('left-with-will')       # DISCONNECT with reason 0x04: "send my will"
        devices.append(left_with_will)
    connect_all(fleet, devices)

    fleet.drop(closed)                  # the socket closed without DISCONNECT (FIN)
    fleet.drop(reset, reset=True)       # ... and with a reset
    fleet.call(left.disconnect)
    wanted = {b'closed is gone', b'reset is gone'}
    if level == 5:
        fleet.call(left_with_will.disconnect, 4)
        wanted.add(b'left-with-will is gone')
    for watcher in (straight, muxed):
        wait_for(lambda: set(watcher.payloads()) >= wanted, what='the wills at %s' % watcher.client_id)
    mosquitto.wait_log('Client %s disconnected.' % left.client_id)

    # A marker published after the clean DISCONNECT was handled: a will for it would have come before the marker.
    mosquitto_pub(mosquitto, '%s/marker' % run, 'marker')
    for watcher in (straight, muxed):
        wait_for(lambda: b'marker' in watcher.payloads(), what='the marker at %s' % watcher.client_id)
        got = collections.Counter(watcher.payloads())
        assert got == collections.Counter(wanted | {b'marker'}), got
        assert all(m[3] == 1 for m in watcher.messages)
    assert not straight.disconnects and not muxed.disconnects


def wait_closed(socks, timeout):
    """Waits for the peer to end each socket (EOF or reset); {sock: seconds it took}. Data is a failure."""
    t0 = time.monotonic()
    closed = {}
    with selectors.DefaultSelector() as sel:
        for sock in socks:
            sock.setblocking(False)
            sel.register(sock, selectors.EVENT_READ)
        while len(closed) < len(socks):
            left = t0 + timeout - time.monotonic()
            if left <= 0:
                break
            for key, _ in sel.select(left):
                try:
                    data = key.fileobj.recv(65536)
                except ConnectionResetError:
                    data = b''
                assert data == b'', 'got %r where the end of the connection was expected' % data
                closed[key.fileobj] = time.monotonic() - t0
                sel.unregister(key.fileobj)
    return closed


def test_keep_alive_is_enforced_by_the_broker_through_the_muxer(mosquitto, muxer, fleet):
    """A device that falls silent is dropped by the broker after 1.5 x its keep-alive, the edge closes its
    connection as the broker would have, and its will is published; a device that keeps pinging stays."""
    keepalive = 2
    muxer.start_cloud()
    muxer.start_edge(TUNNELS)
    run = unique('keepalive')
    watcher = will_subscriber(fleet, mosquitto, run + '/will/#')
    # The same silence straight at the broker, for the reference: when mosquitto drops a silent client depends on
    # how it keeps time (whole seconds, checked on its loop's wake-ups), not only on the keep-alive.
    straight = fleet.device(run + '-straight', mosquitto.port, keepalive=keepalive,
                            will=(run + '/will/straight', b'straight is gone', 1))
    silent = fleet.device(run + '-silent', muxer.edge_port, keepalive=keepalive,
                          will=(run + '/will/silent', b'silent is gone', 1))
    pinging = fleet.device(run + '-pinging', muxer.edge_port, keepalive=keepalive, inbox=run + '/pinging',
                           will=(run + '/will/pinging', b'pinging is gone', 1))
    connect_all(fleet, [straight, silent, pinging])
    wait_for(lambda: pinging.subacks, what='the pinging device to subscribe')

    socks = [fleet.silence(silent), fleet.silence(straight)]
    closed = wait_closed(socks, 3 * keepalive + 5)
    for sock in socks:
        sock.close()
    assert socks[1] in closed, 'mosquitto did not drop a silent client straight at it\n%s' % mosquitto.log()[-3000:]
    assert socks[0] in closed, 'the silent device was not disconnected:\n%s\n%s' % (
        mosquitto.log()[-3000:], muxer.logs())
    muxed_after, straight_after = closed[socks[0]], closed[socks[1]]
    print('silent device closed after %.2fs through the muxer, %.2fs straight' % (muxed_after, straight_after))
    assert muxed_after >= 1.5 * keepalive - 0.5, muxed_after
    # Both went silent at the same moment; mosquitto's whole seconds may still put them one second apart.
    assert abs(muxed_after - straight_after) <= 1.5, (muxed_after, straight_after)
    mosquitto.wait_log('Client %s has exceeded timeout, disconnecting.' % silent.client_id)
    wait_for(lambda: sorted(watcher.payloads()) == [b'silent is gone', b'straight is gone'], what='the wills')

    # The pinging device, connected at the same moment, outlives the silent ones by a margin, still working.
    time.sleep(1.0)
    mosquitto_pub(mosquitto, pinging.inbox, 'still here', qos=1)
    wait_for(lambda: pinging.payloads() == [b'still here'], what='a message to the pinging device')
    assert pinging.connected and not pinging.disconnects
    assert 'Received PINGREQ from %s' % pinging.client_id in mosquitto.log()
    assert 'Client %s has exceeded timeout' % pinging.client_id not in mosquitto.log()
    assert sorted(watcher.payloads()) == [b'silent is gone', b'straight is gone']


@pytest.mark.parametrize('level', [4, 5])
def test_persistent_session_through_the_muxer(mosquitto, muxer, fleet, level):
    """Messages published while a device with a persistent session is away are delivered when it comes back."""
    muxer.start_cloud()
    muxer.start_edge(TUNNELS)
    run = unique('session')
    inbox = run + '/inbox'
    device = fleet.device(run + '-device', muxer.edge_port, level=level, clean=False, session_expiry=300)
    connect_all(fleet, [device])
    assert not device.connacks[0][1]
    fleet.call(device.subscribe, inbox, 1)
    wait_for(lambda: device.subacks, what='the subscription')
    assert device.subacks[0][1] == [1]
    fleet.call(device.disconnect)
    wait_for(lambda: device.disconnects, what='the device to disconnect')
    mosquitto.wait_log('Client %s disconnected.' % device.client_id)

    for n in range(3):
        mosquitto_pub(mosquitto, inbox, 'while away %d' % n, qos=1)
    fleet.call(device.reconnect)
    wait_for(lambda: len(device.connacks) == 2 and device.connected, what='the device to reconnect')
    assert device.connacks[1][1], 'the broker did not find the session (session present = 0)'
    wait_for(lambda: len(device.messages) >= 3, what='the messages published while the device was away')
    assert device.payloads() == [b'while away 0', b'while away 1', b'while away 2']
    assert all(m[1] == inbox and m[3] == 1 for m in device.messages)
    assert len(device.disconnects) == 1


def take_over(fleet, port, client_id, level, inbox):
    """Connects `client_id` twice at `port`; returns both devices once the second is subscribed and the first
    has seen its connection closed."""
    first = fleet.device(client_id, port, level=level, inbox=inbox)
    connect_all(fleet, [first])
    wait_for(lambda: first.subacks, what='the first connection to subscribe')
    second = fleet.device(client_id, port, level=level, inbox=inbox)
    t0 = time.monotonic()
    connect_all(fleet, [second])
    wait_for(lambda: first.disconnects, PROMPTLY, 'the first connection of %s to be closed' % client_id)
    assert first.disconnects[0][0] - t0 < PROMPTLY
    wait_for(lambda: second.subacks, what='the second connection to subscribe')
    return first, second


@pytest.mark.parametrize('level', [4, 5])
def test_second_connection_with_the_same_client_id_takes_over(mosquitto, muxer, fleet, level):
    muxer.start_cloud()
    muxer.start_edge(TUNNELS)
    run = unique('takeover')
    # The same, straight at the broker: what the first connection sees must not differ through the muxer.
    straight, _ = take_over(fleet, mosquitto.port, run + '-straight', level, run + '/straight')
    first, second = take_over(fleet, muxer.edge_port, run + '-device', level, run + '/inbox')
    assert first.disconnects[0][1:] == straight.disconnects[0][1:], (first.disconnects, straight.disconnects)
    mosquitto.wait_log('Client %s already connected, closing old connection.' % first.client_id)
    mosquitto_pub(mosquitto, run + '/inbox', 'for the second', qos=1)
    wait_for(lambda: second.payloads() == [b'for the second'], what='the message at the second connection')
    assert first.payloads() == [] and not second.disconnects and len(first.disconnects) == 1


def vm_rss_kb(pid):
    with open('/proc/%d/status' % pid) as f:
        return int(f.read().split('VmRSS:')[1].split()[0])


def test_a_device_that_stops_reading_holds_up_only_itself(mosquitto, muxer, fleet):
    """The broker pushes megabytes at a device that does not read: its channel stops at its window, the devices
    sharing its tunnel go on at full speed, and neither the edge nor the cloud buffers what is waiting."""
    muxer.start_cloud()
    muxer.start_edge(TUNNELS)
    run = unique('stall')
    stalled = fleet.device(run + '-stalled', muxer.edge_port, inbox=run + '/stalled', inbox_qos=0)
    others = [fleet.device('%s-%d' % (run, i), muxer.edge_port, inbox='%s/%d' % (run, i), inbox_qos=1)
              for i in range(3 * TUNNELS)]           # some of them share the stalled device's tunnel
    publisher = fleet.device(run + '-publisher', muxer.edge_port)
    connect_all(fleet, [stalled, publisher] + others)
    wait_for(lambda: stalled.subacks and all(o.subacks for o in others), what='the subscriptions')
    rss_before = vm_rss_kb(muxer.edge.pid), vm_rss_kb(muxer.cloud.pid)

    sock = fleet.silence(stalled)
    blob = os.urandom(64 << 10)
    blobs = 300                                      # about 20 MB
    fleet.call(lambda: [publisher.publish(stalled.inbox, blob, 0) for _ in range(blobs)])
    wait_for(lambda: len(publisher.completed) >= blobs, 30, 'the publisher to send everything')
    for n in range(5):
        t0 = time.monotonic()
        fleet.call(lambda: [publisher.publish(o.inbox, b'round %d' % n, 1) for o in others])
        wait_for(lambda: all(len(o.messages) > n for o in others), PROMPTLY, 'round %d at the other devices' % n)
        assert time.monotonic() - t0 < 1.0
    grown = vm_rss_kb(muxer.edge.pid) - rss_before[0], vm_rss_kb(muxer.cloud.pid) - rss_before[1]
    assert max(grown) < 8 << 10, 'the edge and the cloud grew by %r KiB' % (grown,)

    # When the device reads again, everything arrives: a stalled channel loses nothing.
    sock.setblocking(True)
    sock.settimeout(TIMEOUT)
    got = 0
    while got < blobs * len(blob):
        data = sock.recv(1 << 20)
        assert data, 'the stalled device was disconnected after %d bytes' % got
        got += len(data)
    sock.close()
    assert all(o.payloads() == [b'round %d' % n for n in range(5)] for o in others)
    assert not any(o.disconnects for o in others)


def test_a_killed_tunnel_is_replaced_and_only_its_devices_reconnect(mosquitto, muxer, fleet, relays, samplers):
    devices_count = 30
    muxer.start_cloud()
    relay = relays(muxer.cloud_port)
    muxer.start_edge(TUNNELS, cloud_port=relay.port)
    counts = samplers(relay.port, muxer.cloud_port)
    run = unique('relay')
    watcher = will_subscriber(fleet, mosquitto, run + '/will/#')
    devices = [fleet.device('%s-%d' % (run, i), muxer.edge_port, inbox='%s/inbox/%d' % (run, i), inbox_qos=1,
                            will=('%s/will/%d' % (run, i), b'%d is gone' % i, 1))
               for i in range(devices_count)]
    connect_all(fleet, devices)
    wait_for(lambda: all(d.subacks for d in devices), what='every device to subscribe')
    assert len(relay.tunnels) == TUNNELS
    # (Count the devices' own channels: any connection to the edge opens one as it is accepted.)
    wait_for(lambda: all(any(d.local_port in t['device_ports'] for t in relay.tunnels) for d in devices),
             what='the relay to see every device channel open')

    def exchange(tag):
        """Each device publishes (QoS 1) to the next one's inbox; every message must arrive."""
        fleet.call(lambda: [d.publish(devices[(i + 1) % devices_count].inbox, b'%s from %d' % (tag, i), 1)
                            for i, d in enumerate(devices)])
        for i, d in enumerate(devices):
            want = b'%s from %d' % (tag, (i - 1) % devices_count)
            wait_for(lambda: want in d.payloads(), what='%r at %s' % (want, d.client_id))
    exchange(b'before')

    victim = relay.tunnels[0]
    hit = [d for d in devices if d.local_port in victim['device_ports']]
    spared = [d for d in devices if d not in hit]
    assert hit and spared, [len(t['device_ports']) for t in relay.tunnels]
    relay.abort(victim)
    wait_for(lambda: all(d.disconnects for d in hit), PROMPTLY, 'the devices of the aborted tunnel to see it')
    # The broker loses those devices too (the cloud closes their connections): their wills, and only theirs.
    hit_wills = sorted(b'%d is gone' % devices.index(d) for d in hit)
    wait_for(lambda: sorted(watcher.payloads()) == hit_wills, PROMPTLY, 'the wills of the devices cut off')
    assert established(mosquitto.port) == 1 + len(spared)

    # They come back, as paho's automatic reconnect would, through a new tunnel.
    fleet.call(lambda: [d.reconnect() for d in hit])
    wait_for(lambda: all(len(d.subacks) == 2 for d in hit), what='the devices to reconnect and subscribe again')
    assert len(relay.tunnels) == TUNNELS + 1
    new_ports = {d.local_port for d in hit}
    assert new_ports & relay.tunnels[-1]['device_ports'], 'no reconnected device rides in the new tunnel'
    exchange(b'after')

    assert not any(d.disconnects for d in spared), 'devices of other tunnels were disturbed'
    assert all(len(d.connacks) == 1 for d in spared)
    assert all(len(d.disconnects) == 1 and len(d.connacks) == 2 for d in hit)
    assert sorted(watcher.payloads()) == hit_wills
    assert counts.highest[relay.port] <= TUNNELS and counts.highest[muxer.cloud_port] <= TUNNELS, counts.highest
    assert established(relay.port) == TUNNELS


def test_a_killed_edge_ends_every_device_at_the_broker(mosquitto, muxer, fleet):
    """The edge dies: the cloud closes the broker connection of every device it carried, and their wills go out,
    as if the devices had lost their own connections to the broker."""
    muxer.start_cloud()
    muxer.start_edge(TUNNELS)
    run = unique('edge-down')
    watcher = will_subscriber(fleet, mosquitto, run + '/will/#')
    devices = [fleet.device('%s-%d' % (run, i), muxer.edge_port, will=('%s/will/%d' % (run, i), b'%d is gone' % i, 1))
               for i in range(12)]
    connect_all(fleet, devices)
    assert established(mosquitto.port) == 1 + len(devices)
    muxer.edge.proc.kill()
    muxer.edge.wait()
    wait_for(lambda: all(d.disconnects for d in devices), PROMPTLY, 'the devices to see the edge go')
    wait_for(lambda: len(watcher.messages) >= len(devices), PROMPTLY, 'every device\'s will')
    assert sorted(watcher.payloads()) == sorted(b'%d is gone' % i for i in range(len(devices)))
    wait_for(lambda: established(mosquitto.port) == 1, PROMPTLY, 'the broker connections to close')
    wait_for(lambda: established(muxer.cloud_port) == 0, PROMPTLY, 'the tunnels to close at the cloud')


def test_cloud_down_closes_devices_promptly_and_they_return_with_it(mosquitto, muxer, fleet):
    muxer.start_cloud()
    muxer.start_edge(2)
    run = unique('down')
    early = fleet.device(run + '-early', muxer.edge_port, inbox=run + '/early')
    connect_all(fleet, [early])
    wait_for(lambda: early.subacks, what='the first device to subscribe')

    # The cloud goes away (killed): the device riding in its tunnel sees its connection closed at once.
    muxer.cloud.proc.kill()
    muxer.cloud.wait()
    wait_for(lambda: early.disconnects, PROMPTLY, 'the device to see the cloud go')

    # While the cloud is down, a device connecting to the edge is closed at once, without a CONNACK.
    late = fleet.device(run + '-late', muxer.edge_port, inbox=run + '/late')
    fleet.call(late.connect)
    wait_for(lambda: late.disconnects, PROMPTLY, 'the edge to close a device while the cloud is down')
    assert not late.connacks
    # ... and so is a device that retries.
    fleet.call(early.reconnect)
    wait_for(lambda: len(early.disconnects) == 2, PROMPTLY, 'the edge to close a retrying device')
    assert len(early.connacks) == 1

    # The cloud comes back on the same port: the devices connect again and messages flow.
    muxer.start_cloud(muxer.cloud_port)
    fleet.call(lambda: (early.reconnect(), late.reconnect()))
    wait_for(lambda: early.connected and late.connected, what='the devices to connect after the cloud is back')
    wait_for(lambda: len(early.subacks) == 2 and late.subacks, what='the devices to subscribe again')
    fleet.call(early.publish, late.inbox, b'hello late', 1)
    fleet.call(late.publish, early.inbox, b'hello early', 2)
    wait_for(lambda: late.payloads() == [b'hello late'] and early.payloads() == [b'hello early'],
             what='messages between the devices')
    assert established(muxer.cloud_port) <= 2
