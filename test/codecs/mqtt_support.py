"""What the MQTT codec tests share: hypothesis strategies for packets of every type, in 3.1, 3.1.1 and 5.0, as
Packets and as bytes in every wire form, and driving a decoder over pieces of a stream.

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


# ------------------------------------------------------------------ packets as bytes, in every wire form

# Written here from the spec, apart from MqttEncoder, so that the forms it never writes are generated too: lengths
# in more bytes than needed, properties in any order (the repeatable ones interleaved with the others), the short
# and long forms of v5 acks, DISCONNECT and AUTH, the v5 CONNACK of two bytes. wire_packets() draws a packet of
# packets() and writes it in one of them, so the bytes decode to that packet.

_PIDS = {name: pid for pid, (name, _, _) in PROPERTY_TABLE.items()}


@st.composite
def varint(draw, value, padded=True):
    """A variable byte integer: in the fewest bytes, or (when `padded`, now and then) in more, up to 4."""
    size = 1
    while value >= 128 ** size:
        size += 1
    if padded and size < 4 and draw(st.integers(0, 3)) == 0:
        size = draw(st.integers(size + 1, 4))
    return bytes((value >> 7 * i & 127) | (128 if i < size - 1 else 0) for i in range(size))


def u16(value):
    return value.to_bytes(2, 'big')


def text(value):
    data = value.encode('utf-8')
    return u16(len(data)) + data


def blob(value):
    return u16(len(value)) + bytes(value)


def _property(draw, name, value):
    pid = _PIDS[name]
    kind = PROPERTY_TABLE[pid][1]
    if kind == BYTE:
        data = bytes((value,))
    elif kind == TWO_BYTE:
        data = u16(value)
    elif kind == FOUR_BYTE:
        data = value.to_bytes(4, 'big')
    elif kind == VARINT:
        data = draw(varint(value))
    elif kind == STRING:
        data = text(value)
    elif kind == BINARY:
        data = blob(value)
    else:
        data = text(value[0]) + text(value[1])
    return bytes((pid,)) + data


@st.composite
def wire_properties(draw, props):
    """The property length and properties, in an order drawn (each repeatable one keeping its values' order)."""
    queues = {name: list(value) if isinstance(value, list) else [value] for name, value in props.items()}
    order = draw(st.permutations([name for name, values in queues.items() for _ in values]))
    body = b''.join(_property(draw, name, queues[name].pop(0)) for name in order)
    return draw(varint(len(body))) + body


def _subscription_options(options):
    if isinstance(options, int):
        return options
    return (options['qos'] | (4 if options['no_local'] else 0) | (8 if options['retain_as_published'] else 0)
            | options['retain_handling'] << 4)


@st.composite
def _reason_and_properties(draw, head, zero_may_go):
    """The tail of a v5 ack, DISCONNECT or AUTH in a form drawn from those that say the same: nothing at all (reason
    code 0, no properties, `zero_may_go`), the reason code alone, or the code and the property length."""
    code = head.reason_code
    if head.properties:
        return bytes((code,)) + draw(wire_properties(head.properties))
    forms = ['code', 'code+length'] + (['nothing'] if code == 0 and zero_may_go else [])
    form = draw(st.sampled_from(forms))
    if form == 'nothing':
        return b''
    if form == 'code':
        return bytes((code,))
    return bytes((code,)) + draw(varint(0))


@st.composite
def _body(draw, head, payload, level):
    name = head.type
    v5 = level >= 5
    if name == 'CONNECT':
        flags = (2 if head.clean_start else 0) | (0x80 if head.username is not None else 0)
        flags |= 0x40 if head.password is not None else 0
        out = text(head.protocol_name) + bytes((head.protocol_level,))
        rest = b''
        if v5:
            rest += draw(wire_properties(head.properties))
        rest += text(head.client_id)
        if head.will_topic is not None:
            flags |= 4 | head.will_qos << 3 | (0x20 if head.will_retain else 0)
            if v5:
                rest += draw(wire_properties(head.will_properties))
            rest += text(head.will_topic) + blob(head.will_payload)
        if head.username is not None:
            rest += text(head.username)
        if head.password is not None:
            rest += blob(head.password)
        return out + bytes((flags,)) + u16(head.keep_alive) + rest
    if name == 'CONNACK':
        out = bytes((1 if head.session_present else 0, head.reason_code))
        if v5 and (head.properties or draw(st.booleans())):   # else the two bytes a 3.1.1 server would send
            out += draw(wire_properties(head.properties))
        return out
    if name == 'PUBLISH':
        out = text(head.topic) + (u16(head.packet_id) if head.qos else b'')
        return out + (draw(wire_properties(head.properties)) if v5 else b'') + payload
    if name in ('PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP'):
        return u16(head.packet_id) + (draw(_reason_and_properties(head, True)) if v5 else b'')
    if name == 'SUBSCRIBE':
        out = u16(head.packet_id) + (draw(wire_properties(head.properties)) if v5 else b'')
        return out + b''.join(text(topic) + bytes((_subscription_options(options),))
                              for topic, options in head.subscriptions)
    if name == 'UNSUBSCRIBE':
        out = u16(head.packet_id) + (draw(wire_properties(head.properties)) if v5 else b'')
        return out + b''.join(text(topic) for topic in head.topics)
    if name in ('SUBACK', 'UNSUBACK'):
        if name == 'UNSUBACK' and not v5:
            return u16(head.packet_id)
        return u16(head.packet_id) + (draw(wire_properties(head.properties)) if v5 else b'') + bytes(head.reason_codes)
    if name in ('DISCONNECT', 'AUTH') and v5:
        # an AUTH of its reason code alone is not in the spec, but the decoder takes it as DISCONNECT's
        return draw(_reason_and_properties(head, True))
    return b''                                  # PINGREQ, PINGRESP, DISCONNECT before 5.0


_FIRST_BYTES = {'CONNECT': 0x10, 'CONNACK': 0x20, 'PUBACK': 0x40, 'PUBREC': 0x50, 'PUBREL': 0x62, 'PUBCOMP': 0x70,
                'SUBSCRIBE': 0x82, 'SUBACK': 0x90, 'UNSUBSCRIBE': 0xa2, 'UNSUBACK': 0xb0, 'PINGREQ': 0xc0,
                'PINGRESP': 0xd0, 'DISCONNECT': 0xe0, 'AUTH': 0xf0}


@st.composite
def wire_packets(draw, level, small=False, items=None):
    """(bytes, Packet, payload): a packet of `items` (default packets(level)) written in a wire form drawn from all
    that decode to it. `small` keeps payloads under 64 bytes."""
    items = packets(level) if items is None else items
    if small:
        items = items.filter(lambda item: item[1] is None or len(item[1]) < 64)
    head, payload = draw(items)
    if head.type == 'PUBLISH':
        first = 0x30 | head.dup << 3 | head.qos << 1 | head.retain
    else:
        first = _FIRST_BYTES[head.type]
    body = draw(_body(head, payload or b'', level))
    return bytes((first,)) + draw(varint(len(body))) + body, head, payload


def wire_streams(level, small=False, max_size=6):
    """A list of wire_packets(level), CONNECTs included: the level of what follows them is the one they state
    (a CONNECT of packets(level) states `level`)."""
    return st.lists(wire_packets(level, small), min_size=1, max_size=max_size)
