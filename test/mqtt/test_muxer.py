"""The IoT muxer (samples/mqtt-muxer/), end to end: devices -> edge.py -> at most TUNNELS tunnel connections ->
cloud.py -> a real mosquitto. For a device the muxer must be invisible: every behaviour it would see connected
straight to the broker (QoS flows, wills, keep-alive, sessions, takeover, a lost connection) it sees through the
edge too, while the cloud holds at most TUNNELS connections from the edge.

The devices are paho-mqtt clients, all driven from one thread (Fleet) through a selector and paho's external-loop
API, so hundreds of them cost one thread; mosquitto_pub publishes where a plain publisher is enough.
"""
import collections
import os
import re
import selectors
import time

import pytest

from test.helpers import established, vm_rss_kb, wait_for
from test.mqtt.devices import TIMEOUT, connect_all, fleet, unique  # noqa: F401  (fleet: a fixture)
from test.mqtt.muxer_support import (PROMPTLY, mosquitto, mosquitto_pub, muxer, relays,  # noqa: F401  (fixtures)
                                     samplers)

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
    wait_for(lambda: sub.subacks, TIMEOUT, what='the will watcher to subscribe')
    return sub


@pytest.mark.parametrize('level', [4, 5])
def test_will_is_published_when_a_device_vanishes_and_not_after_disconnect(mosquitto, muxer, fleet, level):
    muxer.start_cloud()
    muxer.start_edge(TUNNELS)
    run = unique('will')
    straight = will_subscriber(fleet, mosquitto, run + '/#')
    muxed = fleet.device(unique('will-watcher'), muxer.edge_port, inbox=run + '/#', inbox_qos=1)
    connect_all(fleet, [muxed])
    wait_for(lambda: muxed.subacks, TIMEOUT, what='the muxed will watcher to subscribe')

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
        wait_for(lambda: set(watcher.payloads()) >= wanted, TIMEOUT, what='the wills at %s' % watcher.client_id)
    mosquitto.wait_log('Client %s disconnected.' % left.client_id)

    # A marker published after the clean DISCONNECT was handled: a will for it would have come before the marker.
    mosquitto_pub(mosquitto, '%s/marker' % run, 'marker')
    for watcher in (straight, muxed):
        wait_for(lambda: b'marker' in watcher.payloads(), TIMEOUT, what='the marker at %s' % watcher.client_id)
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
    wait_for(lambda: pinging.subacks, TIMEOUT, what='the pinging device to subscribe')

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
    wait_for(lambda: sorted(watcher.payloads()) == [b'silent is gone', b'straight is gone'], TIMEOUT, what='the wills')

    # The pinging device, connected at the same moment, outlives the silent ones by a margin, still working.
    time.sleep(1.0)
    mosquitto_pub(mosquitto, pinging.inbox, 'still here', qos=1)
    wait_for(lambda: pinging.payloads() == [b'still here'], TIMEOUT, what='a message to the pinging device')
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
    wait_for(lambda: device.subacks, TIMEOUT, what='the subscription')
    assert device.subacks[0][1] == [1]
    fleet.call(device.disconnect)
    wait_for(lambda: device.disconnects, TIMEOUT, what='the device to disconnect')
    mosquitto.wait_log('Client %s disconnected.' % device.client_id)

    for n in range(3):
        mosquitto_pub(mosquitto, inbox, 'while away %d' % n, qos=1)
    fleet.call(device.reconnect)
    wait_for(lambda: len(device.connacks) == 2 and device.connected, TIMEOUT, what='the device to reconnect')
    assert device.connacks[1][1], 'the broker did not find the session (session present = 0)'
    wait_for(lambda: len(device.messages) >= 3, TIMEOUT, what='the messages published while the device was away')
    assert device.payloads() == [b'while away 0', b'while away 1', b'while away 2']
    assert all(m[1] == inbox and m[3] == 1 for m in device.messages)
    assert len(device.disconnects) == 1


def take_over(fleet, port, client_id, level, inbox):
    """Connects `client_id` twice at `port`; returns both devices once the second is subscribed and the first
    has seen its connection closed."""
    first = fleet.device(client_id, port, level=level, inbox=inbox)
    connect_all(fleet, [first])
    wait_for(lambda: first.subacks, TIMEOUT, what='the first connection to subscribe')
    second = fleet.device(client_id, port, level=level, inbox=inbox)
    t0 = time.monotonic()
    connect_all(fleet, [second])
    wait_for(lambda: first.disconnects, PROMPTLY, 'the first connection of %s to be closed' % client_id)
    assert first.disconnects[0][0] - t0 < PROMPTLY
    wait_for(lambda: second.subacks, TIMEOUT, what='the second connection to subscribe')
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
    wait_for(lambda: second.payloads() == [b'for the second'], TIMEOUT, what='the message at the second connection')
    assert first.payloads() == [] and not second.disconnects and len(first.disconnects) == 1


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
    wait_for(lambda: stalled.subacks and all(o.subacks for o in others), TIMEOUT, what='the subscriptions')
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
    wait_for(lambda: all(d.subacks for d in devices), TIMEOUT, what='every device to subscribe')
    assert len(relay.tunnels) == TUNNELS
    # (Count the devices' own channels: any connection to the edge opens one as it is accepted.)
    wait_for(lambda: all(any(d.local_port in t['device_ports'] for t in relay.tunnels) for d in devices), TIMEOUT,
             what='the relay to see every device channel open')

    def exchange(tag):
        """Each device publishes (QoS 1) to the next one's inbox; every message must arrive."""
        fleet.call(lambda: [d.publish(devices[(i + 1) % devices_count].inbox, b'%s from %d' % (tag, i), 1)
                            for i, d in enumerate(devices)])
        for i, d in enumerate(devices):
            want = b'%s from %d' % (tag, (i - 1) % devices_count)
            wait_for(lambda: want in d.payloads(), TIMEOUT, what='%r at %s' % (want, d.client_id))
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
    wait_for(lambda: all(len(d.subacks) == 2 for d in hit), TIMEOUT,
             what='the devices to reconnect and subscribe again')
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
    wait_for(lambda: early.subacks, TIMEOUT, what='the first device to subscribe')

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
    wait_for(lambda: early.connected and late.connected, TIMEOUT, what='the devices to connect after the cloud is back')
    wait_for(lambda: len(early.subacks) == 2 and late.subacks, TIMEOUT, what='the devices to subscribe again')
    fleet.call(early.publish, late.inbox, b'hello late', 1)
    fleet.call(late.publish, early.inbox, b'hello early', 2)
    wait_for(lambda: late.payloads() == [b'hello late'] and early.payloads() == [b'hello early'], TIMEOUT,
             what='messages between the devices')
    assert established(muxer.cloud_port) <= 2
