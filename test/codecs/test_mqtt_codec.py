"""pipyx.mqtt: encode and decode agree on every packet type in 3.1, 3.1.1 and 5.0, whatever the stream's pieces;
bytes written from the spec decode as the spec says; malformed input raises MqttError and nothing else."""
import pytest
from hypothesis import given, strategies as st

from pipyx.mqtt import MqttDecoder, MqttEncoder, MqttError, Packet
from pipyx.mqtt.packet import FIELDS
from test.helpers.streams import split_at
from test.codecs.mqtt_support import (LEVELS, SETTINGS, connect, decode_pieces, encode_all, feed_garbage, other,
                                      packets, publish, wire_packets, wire_streams)


def roundtrip(head, payload, level):
    state = {'protocol_level': level}
    data = MqttEncoder(state).encode(head, payload)
    return data, MqttDecoder({'protocol_level': level}).feed(data)


# ------------------------------------------------------------------ properties

@SETTINGS
@given(st.data())
def test_every_packet_decodes_as_encoded(data):
    level = data.draw(LEVELS)
    head, payload = data.draw(packets(level))
    encoded, decoded = roundtrip(head, payload, level)
    assert decoded == [(head, payload)]
    # a dict of the fields encodes the same, whether it holds every field or only those that differ
    encoder = MqttEncoder({'protocol_level': level})
    assert encoder.encode(head.as_dict(), payload) == encoded
    assert encoder.encode({name: getattr(head, name) for name in FIELDS}, payload) == encoded


@SETTINGS
@given(st.data())
def test_a_stream_decodes_the_same_however_it_is_split(data):
    level = data.draw(LEVELS)
    items = data.draw(st.lists(packets(level), min_size=1, max_size=6))
    stream = encode_all(items, level)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=12))
    kind = data.draw(st.sampled_from((bytes, bytearray, memoryview)))
    assert decode_pieces([kind(piece) for piece in split_at(stream, cuts)], level) == items


@SETTINGS
@given(st.data())
def test_a_small_stream_decodes_the_same_split_anywhere(data):
    level = data.draw(LEVELS)
    small = packets(level).filter(lambda item: item[1] is None or len(item[1]) < 64)
    items = data.draw(st.lists(small, min_size=1, max_size=3))
    stream = encode_all(items, level)
    for cut in range(len(stream) + 1):
        assert decode_pieces([stream[:cut], stream[cut:]], level) == items
    assert decode_pieces([stream[i:i + 1] for i in range(len(stream))], level) == items


def _check_decoded_reencode(decoded, level, stream):
    # whatever the decoder accepts, the encoder writes back as it came, and a copy of its fields to the same packet
    state = {'protocol_level': level}
    encoder, decoder = MqttEncoder(state), MqttDecoder(state)
    written = b''.join(encoder.encode(head, payload) for head, payload in decoded)
    assert stream.startswith(written)
    state = {'protocol_level': level}
    encoder, decoder = MqttEncoder(state), MqttDecoder(state)
    for head, payload in decoded:
        assert decoder.feed(encoder.encode(Packet(**head.as_dict()), payload)) == [(head, payload)]


@SETTINGS
@given(st.data())
def test_garbage_decodes_or_raises_mqtt_error(data):
    level = data.draw(LEVELS)
    max_size = data.draw(st.sampled_from((16, 64, 1 << 20)))
    garbage = data.draw(st.binary(max_size=400))
    cuts = data.draw(st.lists(st.integers(0, len(garbage)), max_size=8))
    decoded, _ = feed_garbage(split_at(garbage, cuts), level, max_size)
    _check_decoded_reencode(decoded, level, garbage)


@SETTINGS
@given(st.data())
def test_damaged_packets_decode_or_raise_mqtt_error(data):
    level = data.draw(LEVELS)
    if data.draw(st.booleans()):         # the encoder's forms
        items = data.draw(st.lists(packets(level).filter(lambda item: item[1] is None or len(item[1]) < 200),
                                   min_size=1, max_size=4))
        stream = bytearray(encode_all(items, level))
    else:                                # any form
        stream = bytearray(b''.join(wire for wire, _, _ in data.draw(wire_streams(level, small=True, max_size=4))))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(stream) - 1))
        action = data.draw(st.sampled_from(('flip', 'insert', 'delete')))
        if action == 'flip':
            stream[at] ^= data.draw(st.integers(1, 255))
        elif action == 'insert':
            stream.insert(at, data.draw(st.integers(0, 255)))
        elif len(stream) > 1:
            del stream[at]
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=6))
    decoded, _ = feed_garbage(split_at(bytes(stream), cuts), level, 1 << 20)
    _check_decoded_reencode(decoded, level, bytes(stream))


# ------------------------------------------------------------------ what arrives unchanged leaves unchanged

@SETTINGS
@given(st.data())
def test_every_wire_form_goes_back_out_byte_for_byte(data):
    level = data.draw(LEVELS)
    items = data.draw(wire_streams(level))
    stream = b''.join(wire for wire, _, _ in items)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=12))
    if len(stream) < 2000 and data.draw(st.booleans()):
        cuts = range(len(stream))                                # a byte at a time
    kind = data.draw(st.sampled_from((bytes, bytearray, memoryview)))
    decoded = decode_pieces([kind(piece) for piece in split_at(stream, cuts)], level)
    assert decoded == [(head, payload) for _, head, payload in items]
    # the encoder of the same connection (shared state), or of another one at the same level
    state = {'protocol_level': level}
    encoder = MqttEncoder(state) if data.draw(st.booleans()) else MqttEncoder({'protocol_level': level})
    assert [encoder.encode(head, payload) for head, payload in decoded] == [wire for wire, _, _ in items]


# Fields that change together for the packet to stay valid, per type.
_CHANGES = {
    'CONNECT': [('client_id',), ('clean_start',), ('keep_alive',), ('username', 'password'),
                ('will_topic', 'will_payload', 'will_qos', 'will_retain', 'will_properties'), ('properties',)],
    'CONNACK': [('session_present',), ('reason_code',), ('properties',)],
    'PUBLISH': [('dup',), ('qos', 'packet_id'), ('retain',), ('topic',), ('properties',)],
    'SUBSCRIBE': [('packet_id',), ('subscriptions',), ('properties',)],
    'SUBACK': [('packet_id',), ('reason_codes',), ('properties',)],
    'UNSUBSCRIBE': [('packet_id',), ('topics',), ('properties',)],
    'UNSUBACK': [('packet_id',), ('reason_codes',), ('properties',)],
    'PINGREQ': [('type',)], 'PINGRESP': [('type',)],
    'DISCONNECT': [('reason_code',), ('properties',)], 'AUTH': [('reason_code',), ('properties',)],
}
for _name in ('PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP'):
    _CHANGES[_name] = [('packet_id',), ('reason_code',), ('properties',)]


def _another(data, head, level):
    """Another packet of the type of `head` (a PINGREQ for a PINGRESP and the other way round)."""
    if head.type == 'CONNECT':
        return data.draw(connect(level))[0]
    if head.type == 'PUBLISH':
        return data.draw(publish(level))[0]
    if head.type in ('PINGREQ', 'PINGRESP'):
        return Packet('PINGRESP' if head.type == 'PINGREQ' else 'PINGREQ')
    return data.draw(other(head.type, level))[0]


@SETTINGS
@given(st.data())
def test_a_changed_packet_is_written_from_its_fields(data):
    level = data.draw(LEVELS)
    wire, head, payload = data.draw(wire_packets(level, small=True))
    (decoded, got), = MqttDecoder({'protocol_level': level}).feed(wire)
    another = _another(data, head, level)
    for name in data.draw(st.sampled_from(_CHANGES[head.type])):
        old, new = getattr(decoded, name), getattr(another, name)
        if type(old) is type(new) and isinstance(old, (dict, list)) and data.draw(st.booleans()):
            if isinstance(old, dict):                               # changed in place, as a script may
                old.clear()
                old.update(new)
            else:
                old[:] = new
        else:
            setattr(decoded, name, new)
    changed = Packet(**{name: getattr(decoded, name) for name in FIELDS})
    out = MqttEncoder({'protocol_level': level}).encode(decoded, got)
    assert MqttDecoder({'protocol_level': level}).feed(out) == [(changed, got)]
    if changed == head:                  # the same values again: still the bytes that came
        assert out == wire
    else:                                # else the shortest form, as for a packet a script builds
        assert out == MqttEncoder({'protocol_level': level}).encode(changed, got)


@SETTINGS
@given(st.data())
def test_no_field_the_encoder_reads_is_overlooked(data):
    # One field at a time takes the value of another packet of the type. Whatever the field, the packet goes out
    # as it would if a script had built it with these fields: as it came when that is the same packet.
    level = data.draw(LEVELS)
    wire, head, payload = data.draw(wire_packets(level, small=True))
    another = _another(data, head, level)

    def encode(packet, body):
        try:
            return MqttEncoder({'protocol_level': level}).encode(packet, body)
        except MqttError as e:
            return str(e)
    (original, got), = MqttDecoder({'protocol_level': level}).feed(wire)
    as_built = encode(Packet(**original.as_dict()), got)     # its properties in the order they came
    for name in FIELDS:
        (decoded, got), = MqttDecoder({'protocol_level': level}).feed(wire)
        setattr(decoded, name, getattr(another, name))
        changed = Packet(**{field: getattr(decoded, field) for field in FIELDS})
        built = encode(changed, got)
        out = encode(decoded, got)
        if changed == original:          # equal values (properties in another order, say): no change
            assert out == wire, name
        elif built == as_built:          # a field this type does not carry
            assert out in (wire, built), name
        else:
            assert out == built, name


@pytest.mark.parametrize('level, data, change, expected', [
    (5, b'\x30\x0c\x00\x01t\x07\x26\x00\x01a\x00\x01b\x00',
     lambda h: h.properties['user_property'].append(('c', 'd')),
     Packet('PUBLISH', topic='t', properties={'user_property': [('a', 'b'), ('c', 'd')]})),
    (5, b'\x30\x04\x00\x01t\x00',
     lambda h: h.properties.update(message_expiry_interval=9),
     Packet('PUBLISH', topic='t', properties={'message_expiry_interval': 9})),
    (5, b'\x82\x07\x00\x01\x00\x00\x01a\x2d',
     lambda h: h.subscriptions[0][1].update(qos=0),
     Packet('SUBSCRIBE', packet_id=1, subscriptions=[
         ('a', {'qos': 0, 'no_local': True, 'retain_as_published': True, 'retain_handling': 2})])),
    (4, b'\x82\x06\x00\x01\x00\x01a\x01',
     lambda h: h.subscriptions.append(('b', 2)),
     Packet('SUBSCRIBE', packet_id=1, subscriptions=[('a', 1), ('b', 2)])),
    (4, b'\xa2\x05\x00\x01\x00\x01a',
     lambda h: h.topics.insert(0, 'z'),
     Packet('UNSUBSCRIBE', packet_id=1, topics=['z', 'a'])),
    (5, b'\x90\x04\x00\x01\x00\x01',
     lambda h: h.reason_codes.__setitem__(0, 0x80),
     Packet('SUBACK', packet_id=1, reason_codes=[0x80])),
    (5, b'\x10\x1a\x00\x04MQTT\x05\x06\x00\x00\x00\x00\x01c\x06\x26\x00\x01k\x00\x00\x00\x01w\x00\x00',
     lambda h: h.will_properties['user_property'].append(('k2', 'v')),
     Packet('CONNECT', protocol_name='MQTT', protocol_level=5, client_id='c', clean_start=True, keep_alive=0,
            will_topic='w', will_payload=b'', will_properties={'user_property': [('k', ''), ('k2', 'v')]})),
    (5, b'\x40\x04\x00\x07\x00\x00',
     lambda h: setattr(h, 'packet_id', 8),
     Packet('PUBACK', packet_id=8, reason_code=0)),
])
def test_a_change_made_in_place_is_not_lost(level, data, change, expected):
    (head, payload), = MqttDecoder({'protocol_level': level}).feed(data)
    assert MqttEncoder({'protocol_level': level}).encode(head, payload) == data
    change(head)
    out = MqttEncoder({'protocol_level': level}).encode(head, payload)
    assert out != data
    assert MqttDecoder({'protocol_level': level}).feed(out) == [(expected, payload)]


@SETTINGS
@given(st.data())
def test_a_publish_with_another_payload_keeps_the_bytes_of_its_head(data):
    level = data.draw(LEVELS)
    wire, head, payload = data.draw(wire_packets(level, items=publish(level)))
    (decoded, _), = MqttDecoder({'protocol_level': level}).feed(wire)
    new = data.draw(st.one_of(st.binary(max_size=300), st.just(b''), st.just(payload[:-1]),
                              st.binary(min_size=len(payload), max_size=len(payload))))
    out = MqttEncoder({'protocol_level': level}).encode(decoded, new)
    assert MqttDecoder({'protocol_level': level}).feed(out) == [(head, new)]
    # the variable header (topic, packet id, properties) as it came, whatever the new remaining length
    def variable_header(packet, size):
        start = 2
        while packet[start - 1] & 128:
            start += 1
        return packet[start:len(packet) - size]
    assert variable_header(out, len(new)) == variable_header(wire, len(payload))
    if len(new) == len(payload):
        assert out == wire[:len(wire) - len(payload)] + new


@pytest.mark.parametrize('level, data, head, shortest', [
    (4, b'\xc0\x80\x00', Packet('PINGREQ'), b'\xc0\x00'),
    (4, b'\xe0\x80\x80\x80\x00', Packet('DISCONNECT'), b'\xe0\x00'),
    (4, b'\x40\x82\x80\x00\x00\x07', Packet('PUBACK', packet_id=7), b'\x40\x02\x00\x07'),
    (3, b'\x10\x91\x00' b'\x00\x06MQIsdp\x03\x02\x00\x0a\x00\x03old',
     Packet('CONNECT', protocol_name='MQIsdp', protocol_level=3, clean_start=True, keep_alive=10, client_id='old'),
     b'\x10\x11\x00\x06MQIsdp\x03\x02\x00\x0a\x00\x03old'),
    # a remaining length, a property length and a subscription identifier each in two bytes instead of one
    (5, b'\x30\x89\x00\x00\x01t\x83\x00\x0b\x85\x00x', Packet('PUBLISH', topic='t',
                                                                 properties={'subscription_identifier': [5]}),
     b'\x30\x07\x00\x01t\x02\x0b\x05x'),
    # user properties around another property: the dict keeps the first place of each name, the bytes keep theirs
    (5, b'\x40\x16\x00\x07\x00\x12\x26\x00\x01a\x00\x01b\x1f\x00\x01r\x26\x00\x01c\x00\x01d',
     Packet('PUBACK', packet_id=7, reason_code=0, properties={'user_property': [('a', 'b'), ('c', 'd')],
                                                              'reason_string': 'r'}),
     b'\x40\x16\x00\x07\x00\x12\x26\x00\x01a\x00\x01b\x26\x00\x01c\x00\x01d\x1f\x00\x01r'),
])
def test_lengths_in_more_bytes_than_needed_go_back_out_as_they_came(level, data, head, shortest):
    decoded = decode_one(data, level)
    assert decoded == (head, decoded[1])
    assert MqttEncoder({'protocol_level': level}).encode(*decoded) == data
    assert MqttEncoder({'protocol_level': level}).encode(head, decoded[1] or b'') == shortest


def test_a_packet_decoded_at_one_level_is_written_anew_at_another():
    (ack, _), = MqttDecoder({'protocol_level': 5}).feed(b'\x40\x04\x00\x07\x00\x00')
    assert MqttEncoder({'protocol_level': 4}).encode(ack) == b'\x40\x02\x00\x07'
    (publish_v5, payload), = MqttDecoder({'protocol_level': 5}).feed(b'\x30\x07\x00\x01t\x03\x23\x00\x01')
    with pytest.raises(MqttError, match='PUBLISH properties need MQTT 5'):
        MqttEncoder({'protocol_level': 4}).encode(publish_v5, payload)
    # a CONNECT is written at its own level, and sets the level of what follows
    connect_v5 = b'\x10\x0d\x00\x04MQTT\x05\x02\x00\x3c\x00\x00\x00'
    (head, _), = MqttDecoder({}).feed(connect_v5)
    state = {}
    assert MqttEncoder(state).encode(head) == connect_v5 and state == {'protocol_level': 5}


def test_a_payload_on_a_packet_that_carries_none_is_still_refused():
    (ping, _), = MqttDecoder({}).feed(b'\xc0\x00')
    with pytest.raises(MqttError, match='PINGREQ carries no payload'):
        MqttEncoder({}).encode(ping, b'x')


@SETTINGS
@given(st.integers(2, 5000), st.sampled_from((0x10, 0x30, 0x3b, 0x40, 0x82, 0x90)))
def test_oversize_is_refused_from_the_fixed_header_alone(limit, first):
    for length in (limit - 1, limit + 1000, 268435455):
        header = _fixed_header(first, length)
        decoder = MqttDecoder({}, max_packet_size=limit)
        with pytest.raises(MqttError, match='exceeds max_packet_size %d' % limit):
            decoder.feed(header)


def _fixed_header(first, length):
    out = bytearray((first,))
    while True:
        out.append(length & 127 | (128 if length >= 128 else 0))
        length >>= 7
        if not length:
            return bytes(out)


def test_a_packet_of_exactly_max_packet_size_is_accepted():
    payload = b'x' * 93
    data = MqttEncoder({}).encode(Packet('PUBLISH', topic='abc'), payload)
    assert len(data) == 100
    assert MqttDecoder({}, max_packet_size=100).feed(data) == [(Packet('PUBLISH', topic='abc'), payload)]
    with pytest.raises(MqttError, match='PUBLISH of 100 bytes exceeds max_packet_size 99'):
        MqttDecoder({}, max_packet_size=99).feed(data[:2])


def test_a_fifth_length_byte_is_malformed():
    with pytest.raises(MqttError, match='remaining length exceeds 268435455'):
        MqttDecoder({}, max_packet_size=1 << 40).feed(b'\x30\xff\xff\xff\xff\x01')


# ------------------------------------------------------------------ bytes from the spec

def decode_one(data, level=4, state=None):
    state = {'protocol_level': level} if state is None else state
    result = MqttDecoder(state).feed(data)
    assert len(result) == 1, result
    return result[0]


def test_connect_311_with_will_and_credentials():
    data = (b'\x10\x2a' b'\x00\x04MQTT' b'\x04' b'\xee' b'\x00\x3c' b'\x00\x03cid' b'\x00\x05dev/x' b'\x00\x04gone'
            b'\x00\x04user' b'\x00\x06secret')
    head = Packet('CONNECT', protocol_name='MQTT', protocol_level=4, clean_start=True, keep_alive=60,
                  client_id='cid', will_topic='dev/x', will_payload=b'gone', will_qos=1, will_retain=True,
                  username='user', password=b'secret')
    state = {}
    assert decode_one(data, state=state) == (head, None)
    assert state['protocol_level'] == 4
    assert MqttEncoder({}).encode(head, b'') == data


def test_connect_31_is_mqisdp_level_3():
    data = b'\x10\x11' b'\x00\x06MQIsdp' b'\x03' b'\x02' b'\x00\x0a' b'\x00\x03old'
    state = {}
    head, _ = decode_one(data, state=state)
    assert (head.protocol_name, head.protocol_level, head.client_id) == ('MQIsdp', 3, 'old')
    assert state == {'protocol_level': 3}
    assert MqttEncoder({}).encode(Packet('CONNECT', protocol_level=3, clean_start=True, keep_alive=10,
                                         client_id='old')) == data


def test_connack_v5_with_properties():
    data = (b'\x20\x16' b'\x01\x00' b'\x13' b'\x21\x00\x14' b'\x22\x00\x0a' b'\x12\x00\x03abc'
            b'\x26\x00\x01k\x00\x01v')
    head = Packet('CONNACK', session_present=True, reason_code=0, properties={
        'receive_maximum': 20, 'topic_alias_maximum': 10, 'assigned_client_identifier': 'abc',
        'user_property': [('k', 'v')]})
    assert decode_one(data, 5) == (head, None)
    assert MqttEncoder({'protocol_level': 5}).encode(head) == data


def test_connack_311_return_code():
    assert decode_one(b'\x20\x02\x00\x05') == (Packet('CONNACK', reason_code=5), None)


def test_subscribe_v5_with_options():
    data = b'\x82\x11' b'\x00\x0a' b'\x02\x0b\x05' b'\x00\x03a/b\x2d' b'\x00\x03c/#\x12'
    head = Packet('SUBSCRIBE', packet_id=10, properties={'subscription_identifier': [5]}, subscriptions=[
        ('a/b', {'qos': 1, 'no_local': True, 'retain_as_published': True, 'retain_handling': 2}),
        ('c/#', {'qos': 2, 'no_local': False, 'retain_as_published': False, 'retain_handling': 1})])
    assert decode_one(data, 5) == (head, None)
    encoder = MqttEncoder({'protocol_level': 5})
    assert encoder.encode(head) == data
    # the short spellings encode the same: one int for the identifier, options left out when 0
    subscriptions = [('a/b', {'qos': 1, 'no_local': True, 'retain_as_published': True, 'retain_handling': 2}),
                     ('c/#', {'qos': 2, 'retain_handling': 1})]
    assert encoder.encode({'type': 'SUBSCRIBE', 'packet_id': 10, 'properties': {'subscription_identifier': 5},
                           'subscriptions': subscriptions}) == data


def test_subscribe_311_gives_qos_per_filter():
    data = b'\x82\x0a\x00\x01' b'\x00\x01a\x01' b'\x00\x01b\x02'
    head = Packet('SUBSCRIBE', packet_id=1, subscriptions=[('a', 1), ('b', 2)])
    assert decode_one(data) == (head, None)
    assert MqttEncoder({}).encode(head) == data


@pytest.mark.parametrize('data, head, shortest', [
    (b'\x40\x02\x00\x07', Packet('PUBACK', packet_id=7, reason_code=0), None),
    (b'\x40\x03\x00\x07\x00', Packet('PUBACK', packet_id=7, reason_code=0), b'\x40\x02\x00\x07'),
    (b'\x40\x04\x00\x07\x00\x00', Packet('PUBACK', packet_id=7, reason_code=0), b'\x40\x02\x00\x07'),
    (b'\x40\x05\x00\x07\x00\x80\x00', Packet('PUBACK', packet_id=7, reason_code=0), b'\x40\x02\x00\x07'),
    (b'\x50\x04\x00\x07\x10\x00', Packet('PUBREC', packet_id=7, reason_code=0x10), b'\x50\x03\x00\x07\x10'),
    (b'\x50\x03\x00\x07\x10', Packet('PUBREC', packet_id=7, reason_code=0x10), None),
    (b'\x62\x04\x00\x07\x92\x00', Packet('PUBREL', packet_id=7, reason_code=0x92), b'\x62\x03\x00\x07\x92'),
    (b'\x70\x04\x00\x07\x00\x00', Packet('PUBCOMP', packet_id=7, reason_code=0), b'\x70\x02\x00\x07'),
    (b'\x40\x08\x00\x07\x00\x04\x1f\x00\x01r', Packet('PUBACK', packet_id=7, reason_code=0,
                                                      properties={'reason_string': 'r'}), None),
    (b'\xe0\x00', Packet('DISCONNECT', reason_code=0), None),
    (b'\xe0\x01\x04', Packet('DISCONNECT', reason_code=4), None),
    (b'\xe0\x02\x04\x00', Packet('DISCONNECT', reason_code=4), b'\xe0\x01\x04'),
    (b'\xe0\x02\x00\x00', Packet('DISCONNECT', reason_code=0), b'\xe0\x00'),
    (b'\xe0\x01\x00', Packet('DISCONNECT', reason_code=0), b'\xe0\x00'),
    (b'\xf0\x02\x00\x00', Packet('AUTH', reason_code=0), b'\xf0\x00'),
    (b'\xf0\x01\x00', Packet('AUTH', reason_code=0), b'\xf0\x00'),
    (b'\xf0\x00', Packet('AUTH', reason_code=0), None),
    (b'\xf0\x02\x18\x00', Packet('AUTH', reason_code=0x18), None),
    (b'\xf0\x01\x18', Packet('AUTH', reason_code=0x18), b'\xf0\x02\x18\x00'),
    (b'\xb0\x04\x00\x07\x00\x11', Packet('UNSUBACK', packet_id=7, reason_codes=[0x11]), None),
    (b'\x20\x02\x00\x84', Packet('CONNACK', reason_code=0x84), b'\x20\x03\x00\x84\x00'),
])
def test_v5_short_forms(data, head, shortest):
    decoded, _ = decode_one(data, 5)
    assert decoded == head
    # what came goes back out as it came; the same fields in a packet a script builds take the shortest form
    assert MqttEncoder({'protocol_level': 5}).encode(decoded) == data
    assert MqttEncoder({'protocol_level': 5}).encode(head) == (shortest or data)


@pytest.mark.parametrize('data, head', [
    (b'\x40\x02\x00\x07', Packet('PUBACK', packet_id=7)),
    (b'\x62\x02\xff\xff', Packet('PUBREL', packet_id=65535)),
    (b'\xb0\x02\x00\x07', Packet('UNSUBACK', packet_id=7)),
    (b'\xe0\x00', Packet('DISCONNECT')),
    (b'\xc0\x00', Packet('PINGREQ')),
    (b'\xd0\x00', Packet('PINGRESP')),
    (b'\xa2\x08\x00\x07\x00\x01a\x00\x01b', Packet('UNSUBSCRIBE', packet_id=7, topics=['a', 'b'])),
])
def test_311_fixed_forms(data, head):
    assert decode_one(data) == (head, None)
    assert MqttEncoder({}).encode(head) == data


def test_publish_payload_travels_beside_the_packet():
    data = b'\x3b\x0a\x00\x03a/b\x00\x05hey'
    head, payload = decode_one(data)
    assert head == Packet('PUBLISH', dup=True, qos=1, retain=True, topic='a/b', packet_id=5)
    assert payload == b'hey' and not hasattr(head, 'payload')
    assert MqttEncoder({}).encode(head, b'hey') == data
    assert decode_one(b'\x30\x03\x00\x01t') == (Packet('PUBLISH', topic='t'), b'')


def test_publish_v5_user_properties_keep_their_order():
    head = Packet('PUBLISH', topic='t', properties={
        'user_property': [('b', '2'), ('a', '1'), ('b', '0')], 'topic_alias': 3, 'subscription_identifier': [4, 9]})
    assert roundtrip(head, b'', 5)[1] == [(head, b'')]


def test_the_level_is_learned_from_connect_in_either_direction():
    state = {}
    connect = MqttEncoder(state).encode(Packet('CONNECT', protocol_level=5, client_id='c'))
    assert state == {'protocol_level': 5}
    # the server side learns it from the CONNECT it decodes, in the same feed as what follows
    server = {}
    decoded = MqttDecoder(server).feed(connect + b'\x40\x03\x00\x01\x80')
    assert decoded[1] == (Packet('PUBACK', packet_id=1, reason_code=0x80), None)
    assert MqttEncoder(server).encode(Packet('CONNACK', reason_code=0)) == b'\x20\x03\x00\x00\x00'
    # until a CONNECT is seen, 3.1.1
    assert MqttEncoder({}).encode(Packet('CONNACK', reason_code=0)) == b'\x20\x02\x00\x00'


def test_packet_repr_shows_what_differs_from_the_defaults():
    head = Packet('PUBLISH', qos=1, packet_id=2, topic='a')
    assert repr(head) == "Packet(type='PUBLISH', qos=1, packet_id=2, topic='a')"
    assert head == Packet(type='PUBLISH', topic='a', packet_id=2, qos=1) and head != Packet('PUBLISH', topic='a')


# ------------------------------------------------------------------ what the decoder refuses

@pytest.mark.parametrize('level, data, message', [
    (4, b'\x00\x00', 'reserved MQTT packet type 0'),
    (4, b'\x60\x02\x00\x01', 'PUBREL: reserved flags 0x0'),
    (4, b'\x80\x06\x00\x01\x00\x01a\x00', 'SUBSCRIBE: reserved flags 0x0'),
    (4, b'\xc1\x00', 'PINGREQ: reserved flags 0x1'),
    (4, b'\x36\x05\x00\x01a\x00\x01', 'PUBLISH with QoS 3'),
    (4, b'\x10\x0d\x00\x04MQTT\x04\x03\x00\x3c\x00\x01x', 'reserved flag bit 0'),
    (4, b'\x10\x0c\x00\x04MQTX\x04\x02\x00\x3c\x00\x00', "unsupported protocol 'MQTX' level 4"),
    (4, b'\x10\x0c\x00\x04MQTT\x03\x02\x00\x3c\x00\x00', "unsupported protocol 'MQTT' level 3"),
    (4, b'\x10\x0c\x00\x04MQTT\x04\x0a\x00\x3c\x00\x00', 'will QoS or will retain set without a will'),
    (4, b'\x10\x0c\x00\x04MQTT\x04\x1e\x00\x3c\x00\x00', 'will QoS 3'),
    (4, b'\x10\x0e\x00\x04MQTT\x04\x42\x00\x3c\x00\x00\x00\x00', 'password without a user name'),
    (4, b'\x30\x05\x00\x09abc', 'PUBLISH topic: length 9 runs past the end'),
    (4, b'\x30\x04\x00\x02\xc3\x28', 'PUBLISH topic is not valid UTF-8'),
    (4, b'\x30\x05\x00\x03\xed\xa0\x80', 'PUBLISH topic is not valid UTF-8'),
    (4, b'\x30\x04\x00\x02a\x00', 'PUBLISH topic contains the null character'),
    (4, b'\x40\x02\x00\x00', 'PUBACK with packet id 0'),
    (4, b'\x32\x05\x00\x01a\x00\x00', 'PUBLISH with packet id 0'),
    (4, b'\x82\x06\x00\x00\x00\x01a\x00', 'SUBSCRIBE with packet id 0'),
    (4, b'\x82\x02\x00\x01', 'SUBSCRIBE with no topic filters'),
    (4, b'\xa2\x02\x00\x01', 'UNSUBSCRIBE with no topic filters'),
    (4, b'\x82\x06\x00\x01\x00\x01a\x04', 'SUBSCRIBE: reserved option bits 0x04'),
    (4, b'\x82\x06\x00\x01\x00\x01a\x03', 'SUBSCRIBE: QoS 3'),
    (5, b'\x82\x07\x00\x01\x00\x00\x01a\x30', 'SUBSCRIBE: invalid options 0x30'),
    (4, b'\x90\x03\x00\x01\x03', 'SUBACK: invalid return codes'),
    (4, b'\x90\x02\x00\x01', 'SUBACK with no reason codes'),
    (5, b'\x40\x06\x00\x01\x00\x02\x7f\x00', 'PUBACK: unknown property id 0x7f'),
    (5, b'\x40\x07\x00\x01\x00\x03\x23\x00\x01', 'PUBACK: property topic_alias is not allowed there'),
    (5, b'\x20\x06\x00\x00\x03\x23\x00\x01', 'CONNACK: property topic_alias is not allowed there'),
    (5, b'\x40\x0c\x00\x01\x00\x08\x1f\x00\x01a\x1f\x00\x01b', 'PUBACK: property reason_string appears twice'),
    (5, b'\x82\x0b\x00\x01\x04\x0b\x01\x0b\x02\x00\x01a\x00', 'subscription_identifier appears twice'),
    (5, b'\x40\x05\x00\x01\x00\x05\x1f', 'property length 5 runs past the end'),
    (5, b'\x40\x06\x00\x01\x00\x02\x1f\x00', 'PUBACK reason_string length: needs 2 bytes'),
    (4, b'\x40\x03\x00\x01\x00', 'PUBACK: 1 unexpected bytes at the end'),
    (4, b'\xc0\x01\x00', 'PINGREQ: 1 unexpected bytes'),
    (4, b'\x20\x03\x00\x00\x00', 'CONNACK: 1 unexpected bytes'),
    (4, b'\x20\x02\x02\x00', 'CONNACK: reserved flag bits 0x02'),
    (5, b'\x40\x05\x00\x01\x00\x00\xff', 'PUBACK: 1 unexpected bytes'),
    (4, b'\xe0\x01\x00', 'DISCONNECT: 1 unexpected bytes'),
    (4, b'\xf0\x00', 'AUTH needs MQTT 5'),
    (5, b'\x30\x04\x00\x01a\x80', 'PUBLISH property length: needs 2 bytes'),
])
def test_malformed_input_is_refused(level, data, message):
    decoder = MqttDecoder({'protocol_level': level})
    with pytest.raises(MqttError, match=message.replace('(', r'\(')):
        decoder.feed(data)
    with pytest.raises(MqttError, match='stopped by an earlier error'):
        decoder.feed(b'\xc0\x00')


# ------------------------------------------------------------------ what the encoder refuses

@pytest.mark.parametrize('level, head, payload, message', [
    (4, Packet('PUBLISH', topic='t', qos=3), b'', 'PUBLISH QoS 3 is not 0, 1 or 2'),
    (4, Packet('PUBLISH', topic='t', qos=1), b'', 'PUBLISH needs a packet_id'),
    (4, Packet('PUBLISH'), b'', 'PUBLISH needs a topic'),
    (4, Packet('PUBACK', packet_id=0), b'', 'PUBACK packet_id 0 is out of range'),
    (4, Packet('PUBLISH', topic='t', properties={'topic_alias': 1}), b'', 'properties need MQTT 5'),
    (4, Packet('PUBACK', packet_id=1, reason_code=0x10), b'', 'reason code 16 needs MQTT 5'),
    (4, Packet('UNSUBACK', packet_id=1, reason_codes=[0]), b'', 'UNSUBACK reason codes need MQTT 5'),
    (4, Packet('AUTH'), b'', 'AUTH needs MQTT 5'),
    (4, Packet('CONNECT', password=b'p'), b'', 'password without a username needs MQTT 5'),
    (4, Packet('CONNECT', will_payload=b'p'), b'', 'will fields without a will_topic'),
    (4, Packet('CONNECT', protocol_level=6), b'', 'unsupported protocol level 6'),
    (4, Packet('CONNECT', protocol_level=4, protocol_name='MQIsdp'), b'', "named 'MQTT', not 'MQIsdp'"),
    (4, Packet('SUBSCRIBE', packet_id=1, subscriptions=[('a', {'no_local': True})]), b'', 'need MQTT 5'),
    (4, Packet('SUBSCRIBE', packet_id=1, subscriptions=[]), b'', 'no topic filters'),
    (4, Packet('SUBACK', packet_id=1, reason_codes=[3]), b'', 'invalid return codes'),
    (5, Packet('CONNACK', properties={'topic_alias': 1}), b'', 'property topic_alias is not allowed there'),
    (5, Packet('CONNACK', properties={'colour': 1}), b'', "unknown property 'colour'"),
    (5, Packet('PUBLISH', topic='t', properties={'topic_alias': 65536}), b'', 'topic_alias 65536 is out of range'),
    (5, Packet('SUBSCRIBE', packet_id=1, subscriptions=[('a', 0)], properties={'subscription_identifier': [1, 2]}),
     b'', 'more than one subscription_identifier'),
    (5, Packet('PUBLISH', topic='t', properties={'user_property': 'ab'}), b'', 'is a (name, value) pair'),
    (4, Packet('PUBLISH', topic='x' * 65536), b'', 'PUBLISH topic of 65536 bytes exceeds 65535'),
    (4, Packet('PUBLISH', topic='a\x00'), b'', 'null character'),
    (4, Packet('PUBLISH', topic='\ud800'), b'', 'cannot be encoded as UTF-8'),
    (4, Packet('PINGREQ'), b'x', 'PINGREQ carries no payload'),
    (4, Packet('HELLO'), b'', "unknown MQTT packet type 'HELLO'"),
    (4, {'type': 'PINGREQ', 'colour': 1}, b'', 'unknown MQTT head fields: colour'),
    (4, 'PINGREQ', b'', 'a Packet or a dict'),
])
def test_unencodable_heads_are_refused(level, head, payload, message):
    with pytest.raises(MqttError, match=message.replace('(', r'\(').replace(')', r'\)')):
        MqttEncoder({'protocol_level': level}).encode(head, payload)
