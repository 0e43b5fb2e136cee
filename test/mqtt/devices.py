"""paho-mqtt devices for the IoT muxer tests, driven from one thread through a selector and paho's external-loop
API (Device, Fleet): hundreds of them without a thread each.
"""
import collections
import resource
import selectors
import socket
import struct
import threading
import time
import uuid

import pytest
from paho.mqtt import client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from test.helpers import wait_for


HOST = '127.0.0.1'
TIMEOUT = 10.0


def raise_nofile_limit():
    """500 devices hold 500 sockets here and in every process on their path (which inherit the limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 1 << 16
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


raise_nofile_limit()


def unique(prefix):
    return '%s-%s' % (prefix, uuid.uuid4().hex[:10])


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
    wait_for(lambda: all(d.connected for d in devices), TIMEOUT, what=what)
