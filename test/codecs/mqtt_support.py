"""What the MQTT codec tests share: hypothesis strategies for packets of every type, in 3.1, 3.1.1 and 5.0, and
driving a decoder over pieces of a stream.

A generated packet is what the decoder gives back: fields a type does not carry keep their defaults, v5 acks
carry a reason code (0 included), wills have bytes payloads, subscriptions use the level's options form.
"""
from hypothesis import HealthCheck, settings, strategies as st

from pipyx.mqtt import PROPERTY_TABLE, MqttDecoder, MqttEncoder, MqttError, Packet
from pipyx.mqtt.packet import (BINARY, BYTE, FOUR_BYTE, MAX_REMAINING_LENGTH, PROTOCOL_NAMES, STRING, STRING_PAIR,
                               TWO_BYTE, VARINT)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# MQTT strings are UTF-8 without U+0000 (surrogates cannot be encoded at all).
TEXT = st.text(st.characters(exclude_categories=('Cs',), exclude_characters='\x00'), max_size=12)
BLOB = st.binary(max_size=24)
PACKET_ID = st.integers(1, 65535)
QOS = st.integers(0, 2)
BYTE_VALUE = st.integers(0, 255)

_VALUES = {
    BYTE: BYTE_VALUE,
    TWO_BYTE: st.integers(0, 0xFFFF),
    FOUR_BYTE: st.integers(0, 0xFFFFFFFF),
    STRING: TEXT,
    BINARY: BLOB,
    STRING_PAIR: st.lists(st.tuples(TEXT, TEXT), min_size=1, max_size=4),
}


def properties(where, level):
    """Properties allowed in `where` (a packet name, or 'WILL'); always {} before 5.0."""
    if level < 5:
        return st.just({})
    optional = {}
    for name, kind, places in PROPERTY_TABLE.values():
        if where not in places:
            continue
        if kind == VARINT:  # subscription_identifier: repeats only in PUBLISH
            optional[name] = st.lists(st.integers(1, MAX_REMAINING_LENGTH), min_size=1,
                                      max_size=3 if where == 'PUBLISH' else 1)
        else:
            optional[name] = _VALUES[kind]
    return st.fixed_dictionaries({}, optional=optional)


# Payloads: mostly small, sometimes empty, now and then large.
PAYLOAD = st.one_of(st.binary(max_size=64), st.just(b''),
                    st.builds(lambda n, b: bytes([b]) * n, st.integers(1000, 300000), BYTE_VALUE))


def _packet(draw, name, level):
    p = Packet(name)
    if name not in ('PINGREQ', 'PINGRESP'):
        p.properties = draw(properties(name, level))
    return p


@st.composite
def connect(draw, level):
    p = _packet(draw, 'CONNECT', level)
    p.protocol_level = level
    p.protocol_name = PROTOCOL_NAMES[level]
    p.client_id = draw(TEXT)
    p.clean_start = draw(st.booleans())
    p.keep_alive = draw(st.integers(0, 65535))
    if draw(st.booleans()):
        p.will_topic = draw(TEXT)
        p.will_payload = draw(st.one_of(BLOB, st.just(b'')))
        p.will_qos = draw(QOS)
        p.will_retain = draw(st.booleans())
        p.will_properties = draw(properties('WILL', level))
    p.username = draw(st.none() | TEXT)
    if p.username is not None or level >= 5:
        p.password = draw(st.none() | BLOB)
    return p, None


@st.composite
def publish(draw, level):
    p = _packet(draw, 'PUBLISH', level)
    p.qos = draw(QOS)
    p.dup = draw(st.booleans())
    p.retain = draw(st.booleans())
    p.topic = draw(TEXT)
    if p.qos:
        p.packet_id = draw(PACKET_ID)
    return p, draw(PAYLOAD)


@st.composite
def other(draw, name, level):
    """Every type but CONNECT and PUBLISH."""
    p = _packet(draw, name, level)
    if name == 'CONNACK':
        p.session_present = draw(st.booleans())
        p.reason_code = draw(BYTE_VALUE)
    elif name in ('PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP'):
        p.packet_id = draw(PACKET_ID)
        if level >= 5:
            p.reason_code = draw(st.one_of(st.just(0), BYTE_VALUE))
    elif name == 'SUBSCRIBE':
        p.packet_id = draw(PACKET_ID)
        if level >= 5:
            options = st.fixed_dictionaries({'qos': QOS, 'no_local': st.booleans(),
                                             'retain_as_published': st.booleans(),
                                             'retain_handling': st.integers(0, 2)})
        else:
            options = QOS
        p.subscriptions = draw(st.lists(st.tuples(TEXT, options), min_size=1, max_size=4))
    elif name == 'SUBACK' or (name == 'UNSUBACK' and level >= 5):
        p.packet_id = draw(PACKET_ID)
        codes = BYTE_VALUE if level >= 5 else st.sampled_from((0, 1, 2, 0x80))
        p.reason_codes = draw(st.lists(codes, min_size=1, max_size=5))
    elif name in ('UNSUBSCRIBE', 'UNSUBACK'):
        p.packet_id = draw(PACKET_ID)
        if name == 'UNSUBSCRIBE':
            p.topics = draw(st.lists(TEXT, min_size=1, max_size=4))
    elif name in ('DISCONNECT', 'AUTH') and level >= 5:
        p.reason_code = draw(st.one_of(st.just(0), BYTE_VALUE))
    return p, None


NAMES = ('CONNACK', 'PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP', 'SUBSCRIBE', 'SUBACK', 'UNSUBSCRIBE', 'UNSUBACK',
         'PINGREQ', 'PINGRESP', 'DISCONNECT', 'AUTH')


def packets(level):
    """(Packet, payload) of any type the level has; payload is bytes for PUBLISH, None otherwise."""
    names = NAMES if level >= 5 else NAMES[:-1]
    return st.one_of([connect(level), publish(level)] + [other(name, level) for name in names])


LEVELS = st.sampled_from((3, 4, 5))


# ------------------------------------------------------------------ driving the codec

def encode_all(items, level):
    encoder = MqttEncoder({'protocol_level': level})
    return b''.join(encoder.encode(head, payload) for head, payload in items)


def decode_pieces(pieces, level, max_packet_size=1 << 20):
    """Feeds the pieces to one decoder; returns everything it decoded."""
    decoder = MqttDecoder({'protocol_level': level}, max_packet_size)
    out = []
    for piece in pieces:
        out += decoder.feed(piece)
    assert decoder.buffered == 0
    return out


def feed_garbage(pieces, level, max_packet_size):
    """Feeds pieces until the decoder raises MqttError (any other exception fails the test); checks that it never
    holds more than max_packet_size. Returns (decoded, the MqttError or None)."""
    state = {'protocol_level': level}
    decoder = MqttDecoder(state, max_packet_size)
    out = []
    for piece in pieces:
        try:
            out += decoder.feed(piece)
        except MqttError as e:
            return out, e
        assert decoder.buffered <= max_packet_size
    return out, None
