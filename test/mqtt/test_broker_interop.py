"""pipyx.mqtt against a real broker (mosquitto) and an independent client (paho-mqtt): raw sockets carry only what
MqttEncoder writes and MqttDecoder reads, at protocol levels 4 (3.1.1) and 5 (and 3 for the basic flow)."""
import pytest

from pipyx.mqtt import Packet
from test.mqtt.support import from_paho_properties, mosquitto, paho_clients, raw_clients  # noqa: F401 (fixtures)

LEVELS = pytest.mark.parametrize('level', [4, 5])

V5_MESSAGE_PROPERTIES = {'user_property': [('k', 'v'), ('k', 'v2'), ('a', '')], 'content_type': 'text/plain',
                         'response_topic': 'reply/here', 'correlation_data': b'\x00\x01\xff',
                         'payload_format_indicator': 1}


def options(level, qos, **v5):
    """Subscription options in the level's own form."""
    if level < 5:
        return qos
    return dict({'qos': qos, 'no_local': False, 'retain_as_published': False, 'retain_handling': 0}, **v5)


def test_connack_v5_properties(raw_clients):
    client = raw_clients(5)
    connack = client.connect(client_id='', properties={'receive_maximum': 5, 'topic_alias_maximum': 3})
    assert connack.reason_code == 0 and connack.session_present is False
    props = connack.properties
    assert props['assigned_client_identifier'].startswith('auto-')
    assert isinstance(props['receive_maximum'], int) and isinstance(props['topic_alias_maximum'], int)
    assert client.state == {'protocol_level': 5}


def test_connack_311_return_code(raw_clients):
    client = raw_clients(4)
    # 3.1.1: an empty client id needs clean session; the broker answers "identifier rejected"
    client.send(Packet('CONNECT', protocol_level=4, client_id='', clean_start=False))
    connack, _ = client.expect('CONNACK')
    assert connack == Packet('CONNACK', reason_code=2)


@pytest.mark.parametrize('level', [3, 4, 5])
def test_publish_at_each_qos_reaches_a_subscriber(raw_clients, mosquitto, level):
    pub, sub = raw_clients(level), raw_clients(level)
    pub.connect('pub')
    sub.connect('sub')
    suback = sub.subscribe(('t/#', options(level, 2)))
    assert suback.reason_codes == [2]
    props = V5_MESSAGE_PROPERTIES if level == 5 else None
    for qos in (0, 1, 2):
        acks = pub.publish('t/%d' % qos, b'payload %d' % qos, qos, properties=props)
        assert [a.type for a in acks] == [[], ['PUBACK'], ['PUBREC', 'PUBCOMP']][qos]
        assert all(a.reason_code == (0 if level == 5 else None) for a in acks)
        head, payload = sub.receive()
        assert (head.topic, head.qos, head.retain, payload) == ('t/%d' % qos, qos, False, b'payload %d' % qos)
        assert head.properties == (props or {})
    # the broker saw both QoS 2 flows completed: ours as sender, and its own to the subscriber
    log = mosquitto.wait_log('Received PUBCOMP from sub')
    assert 'Received PUBREL from pub' in log and 'Sending PUBCOMP to pub' in log


@LEVELS
def test_qos_is_the_lower_of_publish_and_subscription(raw_clients, level):
    pub, sub = raw_clients(level), raw_clients(level)
    pub.connect('pub')
    sub.connect('sub')
    assert sub.subscribe(('one', options(level, 1)), ('zero', options(level, 0))).reason_codes == [1, 0]
    pub.publish('one', b'1', 2)
    pub.publish('zero', b'0', 1)
    assert [(h.topic, h.qos) for h, _ in (sub.receive(), sub.receive())] == [('one', 1), ('zero', 0)]


@LEVELS
def test_large_payload_across_many_reads(raw_clients, level):
    pub, sub = raw_clients(level), raw_clients(level)
    pub.connect('pub')
    sub.connect('sub')
    sub.subscribe(('big', options(level, 1)))
    payload = bytes(range(256)) * 1200
    pub.publish('big', payload, 1)
    head, got = sub.receive()
    assert head.topic == 'big' and got == payload


def test_v5_subscription_identifier_no_local_and_retain_as_published(raw_clients):
    a, b = raw_clients(5), raw_clients(5)
    a.connect('a')
    b.connect('b')
    a.subscribe(('n/#', options(5, 1, no_local=True)), properties={'subscription_identifier': 42})
    b.subscribe(('n/#', options(5, 1, retain_as_published=True)), properties={'subscription_identifier': 7})
    a.publish('n/1', b'from a', 1, retain=True)
    head, payload = b.receive()
    assert (payload, head.retain, head.properties) == (b'from a', True, {'subscription_identifier': [7]})
    b.publish('n/2', b'from b', 1)
    head, payload = a.receive()  # a's own message was not sent back to it
    assert (payload, head.retain, head.properties) == (b'from b', False, {'subscription_identifier': [42]})


@LEVELS
def test_retained_message_reaches_a_later_subscriber(raw_clients, level):
    pub = raw_clients(level)
    pub.connect('pub')
    pub.publish('r/state', b'on', 1, retain=True)
    late = raw_clients(level)
    late.connect('late')
    late.subscribe(('r/#', options(level, 1)))
    head, payload = late.receive()
    assert (head.topic, head.retain, payload) == ('r/state', True, b'on')
    # an empty retained message clears it
    pub.publish('r/state', b'', 1, retain=True)
    head, payload = late.receive()
    assert payload == b''
    later = raw_clients(level)
    later.connect('later')
    later.subscribe(('r/#', options(level, 1)))
    later.publish('r/marker', b'm', 1)
    assert later.receive()[1] == b'm'


def will_fields(level):
    fields = {'will_topic': 'dev/status', 'will_payload': b'offline', 'will_qos': 1}
    if level == 5:
        fields['will_properties'] = {'user_property': [('reason', 'lost')], 'content_type': 'text/plain'}
    return fields


@LEVELS
def test_will_is_sent_when_the_socket_drops(raw_clients, level):
    watcher, device = raw_clients(level), raw_clients(level)
    watcher.connect('watcher')
    watcher.subscribe(('dev/#', options(level, 1)))
    device.connect('device', **will_fields(level))
    device.drop()
    head, payload = watcher.receive()
    assert (head.topic, head.qos, payload) == ('dev/status', 1, b'offline')
    if level == 5:
        assert head.properties == will_fields(5)['will_properties']


@LEVELS
def test_will_is_not_sent_after_disconnect(raw_clients, level):
    watcher, device = raw_clients(level), raw_clients(level)
    watcher.connect('watcher')
    watcher.subscribe(('dev/#', options(level, 1)))
    device.connect('device', **will_fields(level))
    device.disconnect()  # returns once the broker has closed the connection, will discarded
    watcher.publish('dev/marker', b'after', 1)
    head, payload = watcher.receive()
    assert (head.topic, payload) == ('dev/marker', b'after')


def test_v5_disconnect_with_will_message_sends_the_will(raw_clients):
    watcher, device = raw_clients(5), raw_clients(5)
    watcher.connect('watcher')
    watcher.subscribe(('dev/#', options(5, 1)))
    device.connect('device', **will_fields(5))
    device.disconnect(reason_code=0x04)
    head, payload = watcher.receive()
    assert (head.topic, payload) == ('dev/status', b'offline')


@LEVELS
def test_pingreq_pingresp_and_unsubscribe(raw_clients, level):
    client = raw_clients(level)
    client.connect('pinger', keep_alive=5)
    client.send(Packet('PINGREQ'))
    assert client.expect('PINGRESP') == (Packet('PINGRESP'), None)
    client.subscribe(('u/1', options(level, 0)), ('u/2', options(level, 0)))
    client.send(Packet('UNSUBSCRIBE', packet_id=9, topics=['u/1', 'u/2']))
    unsuback, _ = client.expect('UNSUBACK')
    assert unsuback.packet_id == 9
    assert unsuback.reason_codes == ([0, 0] if level == 5 else None)


@LEVELS
def test_paho_receives_what_the_raw_client_publishes(raw_clients, paho_clients, level):
    paho = paho_clients(level)
    paho.subscribe('p/#', 2)
    raw = raw_clients(level)
    raw.connect('raw')
    props = V5_MESSAGE_PROPERTIES if level == 5 else None
    for qos in (0, 1, 2):
        raw.publish('p/%d' % qos, b'to paho %d' % qos, qos, retain=False, properties=props)
        message = paho.message()
        assert (message.topic, message.qos, message.payload) == ('p/%d' % qos, qos, b'to paho %d' % qos)
        if level == 5:
            assert from_paho_properties(message.properties) == props


@LEVELS
def test_raw_client_receives_what_paho_publishes(raw_clients, paho_clients, level):
    raw = raw_clients(level)
    raw.connect('raw')
    raw.subscribe(('q/#', options(level, 2)))
    paho = paho_clients(level)
    props = V5_MESSAGE_PROPERTIES if level == 5 else None
    for qos in (0, 1, 2):
        paho.publish('q/%d' % qos, b'from paho %d' % qos, qos, properties=props)
        head, payload = raw.receive()
        assert (head.topic, head.qos, payload) == ('q/%d' % qos, qos, b'from paho %d' % qos)
        assert head.properties == (props or {})
