"""What the IoT muxer tests share besides the devices (devices.py): the sample's edge and cloud as processes (Muxer),
a relay between edge and cloud that knows which devices ride in which tunnel (TunnelRelay), and samplers of
established connections.
"""
import asyncio
import os
import socket
import struct
import subprocess
import threading

import pytest

from test.helpers import ROOT, established, free_port, wait_for
from test.mqtt.devices import HOST, TIMEOUT
from test.mqtt.support import mosquitto  # noqa: F401  (the fixture)


SAMPLE = os.path.join(ROOT, 'samples', 'mqtt-muxer')
PROMPTLY = 2.0        # how soon a device must see its connection closed when its path to the broker is gone


# ---------------------------------------------------------------------------------------------- counting connections

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


# --------------------------------------------------------------------------------------------------------- the muxer

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
        wait_for(lambda: established(self.cloud_port) == 0, TIMEOUT, what='the readiness probe to leave the cloud')
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


def mosquitto_pub(broker, topic, payload, qos=1, client_id=None):
    args = ['mosquitto_pub', '-h', HOST, '-p', str(broker.port), '-t', topic, '-m', payload, '-q', str(qos)]
    if client_id:
        args += ['-i', client_id]
    subprocess.run(args, check=True, timeout=TIMEOUT, capture_output=True)


# ---------------------------------------------------------------------------- a relay between the edge and the cloud

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
