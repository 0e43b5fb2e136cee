"""decode_mqtt and encode_mqtt between real peers: what a paho MQTT 5 client, a raw client writing the forms paho
never writes, and mosquitto send each other through pipyx arrives byte for byte as it was sent, both ways, while a
script reads every packet on the way."""
import socket
import threading
import types

from test.helpers import free_port, wait_for
from test.mqtt.support import TIMEOUT, PahoClient, RawMqttClient, mosquitto  # noqa: F401 (the fixture)

SCRIPT = '''
from pipyx import pipy


def look(start):
    head = start.head                    # reading fields changes nothing
    assert head.type and isinstance(head.properties, dict)
    head.properties.get('user_property')


(pipy().listen('127.0.0.1:%(listen)d')
 .decode_mqtt().handle_message_start(look).encode_mqtt()
 .connect('127.0.0.1:%(upstream)d', read_timeout=0, idle_timeout=0)
 .decode_mqtt().handle_message_start(look).encode_mqtt())
'''


class Tap:
    """A TCP relay to 127.0.0.1:target_port that records, per connection, the bytes that go up (to the target) and
    down, each recorded before it is passed on."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.server = socket.create_server(('127.0.0.1', 0))
        self.port = self.server.getsockname()[1]
        self.connections = []            # [{'up': bytearray, 'down': bytearray, 'ended': int}], in accept order
        self.sockets = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(('127.0.0.1', self.target_port), TIMEOUT)
            upstream.settimeout(None)
            record = {'up': bytearray(), 'down': bytearray(), 'ended': 0}
            with self.lock:
                self.connections.append(record)
                self.sockets += [client, upstream]
            for src, dst, way in ((client, upstream, 'up'), (upstream, client, 'down')):
                threading.Thread(target=self._pump, args=(src, dst, record, way), daemon=True).start()

    def _pump(self, src, dst, record, way):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                with self.lock:
                    record[way] += data
                dst.sendall(data)
        except OSError:
            pass                        # a side closed or reset: the relay stops; what it recorded is checked
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass                    # the other side is gone already
            with self.lock:
                record['ended'] += 1

    def streams(self):
        """Each connection's (up, down) bytes so far, sorted (connections are told apart by their CONNECT)."""
        with self.lock:
            return sorted((bytes(c['up']), bytes(c['down'])) for c in self.connections)

    def all_ended(self):
        with self.lock:
            return bool(self.connections) and all(c['ended'] == 2 for c in self.connections)

    def close(self):
        self.server.close()
        with self.lock:
            for s in self.sockets:
                s.close()


def fixed(first, body, length=None):
    """A packet: its first byte, its remaining length (`length`: as given, else in the fewest bytes), its body."""
    if length is None:
        value, length = len(body), bytearray()
        while True:
            length.append(value & 127 | (128 if value >= 128 else 0))
            value >>= 7
            if not value:
                break
    return bytes((first,)) + bytes(length) + body


def text(value):
    return len(value).to_bytes(2, 'big') + value


def user_property(name, value):
    return b'\x26' + text(name) + text(value)


def properties(*items):
    data = b''.join(items)
    return bytes((len(data),)) + data


def test_packets_go_through_byte_for_byte_both_ways(run_pipyx, mosquitto):
    broker_side = Tap(mosquitto.port)
    listen = free_port()
    run_pipyx(SCRIPT % {'listen': listen, 'upstream': broker_side.port}, port=listen)
    client_side = Tap(listen)
    entry = types.SimpleNamespace(host='127.0.0.1', port=client_side.port)
    clients = []
    try:
        sub = PahoClient(entry, 5, client_id='paho-sub')
        clients.append(sub)
        sub.subscribe('t/#', 2)
        pub = PahoClient(entry, 5, client_id='paho-pub')
        clients.append(pub)

        # paho's own forms: properties with repeated user properties, a topic alias set then used alone
        props = {'user_property': [('k', 'v'), ('k', 'v'), ('a', '')], 'content_type': 'text/plain',
                 'correlation_data': b'\x00\xff', 'message_expiry_interval': 60, 'payload_format_indicator': 1}
        for qos in (0, 1, 2):
            pub.publish('t/%d' % qos, b'paho %d' % qos, qos, properties=props)
        pub.publish('t/alias', b'named', 1, properties={'topic_alias': 1})
        pub.publish('', b'aliased', 1, properties={'topic_alias': 1})
        got = sorted((sub.message() for _ in range(5)), key=lambda m: (m.topic, m.payload))   # QoS 2 may come later
        assert [(m.topic, m.payload) for m in got] == [('t/0', b'paho 0'), ('t/1', b'paho 1'), ('t/2', b'paho 2'),
                                                       ('t/alias', b'aliased'), ('t/alias', b'named')]
        assert all(m.properties.UserProperty == [('k', 'v'), ('k', 'v'), ('a', '')] for m in got[:3])

        # forms paho does not write, each one mosquitto takes
        raw = RawMqttClient(entry, level=5)
        clients.append(raw)
        raw.state['protocol_level'] = 5                  # its CONNECT is written here, not by its encoder
        raw.send(fixed(0x10, text(b'MQTT') + b'\x05\x02\x00\x3c' + properties(
            user_property(b'a', b'1'), b'\x11\x00\x00\x00\x3c', user_property(b'b', b'2'), b'\x21\x00\x0a')
            + text(b'raw-5')))
        assert raw.expect('CONNACK')[0].reason_code == 0
        raw.send(fixed(0x82, b'\x00\x01\x00' + text(b'raw/#') + b'\x02'))
        assert raw.expect('SUBACK')[0].reason_codes == [2]
        pub.publish('raw/1', b'one', 1)
        head, payload = raw.expect('PUBLISH')
        assert payload == b'one'
        raw.send(b'\x40\x04' + head.packet_id.to_bytes(2, 'big') + b'\x00\x00')   # reason code and empty properties
        pub.publish('raw/2', b'two', 2)
        head, payload = raw.expect('PUBLISH')
        pid = head.packet_id.to_bytes(2, 'big')
        raw.send(b'\x50\x03' + pid + b'\x00')                                       # a reason code of 0, said
        raw.expect('PUBREL')
        raw.send(b'\x70\x04' + pid + b'\x00\x00')
        # user properties around another property, and a remaining length in three bytes instead of one
        body = (text(b't/raw') + b'\x01\x01' + properties(user_property(b'k', b'v'), b'\x03' + text(b'text/x'),
                                                            user_property(b'k', b'v2')) + b'payload')
        raw.send(fixed(0x32, body, length=bytes((len(body) | 128, 128, 0))))
        assert raw.expect('PUBACK')[0].packet_id == 0x0101
        message = sub.message()
        assert (message.topic, message.payload) == ('t/raw', b'payload')
        assert message.properties.UserProperty == [('k', 'v'), ('k', 'v2')]
        raw.send(b'\xc0\x80\x00')                                                   # PINGREQ, its 0 in two bytes
        raw.expect('PINGRESP')
        raw.send(b'\xe0\x02\x00\x00')                                               # DISCONNECT, reason code 0 said
        raw.wait_closed()

        # and MQTT 3.1, whose CONNECT names the protocol MQIsdp
        old = RawMqttClient(entry, level=3)
        clients.append(old)
        old.connect('old-31')
        old.publish('t/31', b'from 3.1', qos=1)
        assert sub.message().payload == b'from 3.1'
        old.disconnect()
    finally:
        for client in reversed(clients):
            client.close()

    try:
        assert wait_for(lambda: client_side.all_ended() and broker_side.all_ended(), TIMEOUT), 'connections left'
        sent, received = client_side.streams(), broker_side.streams()
        assert len(sent) == len(received) == 4
        for (up_in, down_out), (up_out, down_in) in zip(sent, received):
            assert up_out == up_in            # what the clients sent, as mosquitto got it
            assert down_out == down_in        # what mosquitto sent, as the clients got it
        raw_up = [up for up, _ in sent if b'raw-5' in up][0]
        assert b'\x40\x04' in raw_up and b'\xc0\x80\x00' in raw_up and raw_up.endswith(b'\xe0\x02\x00\x00')
    finally:
        client_side.close()
        broker_side.close()
