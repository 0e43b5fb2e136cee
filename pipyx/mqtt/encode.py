"""MQTT encoder: a Packet (or a dict of its fields) and a payload in, the packet's bytes out, with no I/O.

It checks what it writes as the decoder checks what it reads, so that what one side encodes the other decodes.
"""
import struct

from .packet import (BINARY, BYTE, DEFAULT_PROTOCOL_LEVEL, FIELDS, FIXED_FLAGS, FOUR_BYTE, MAX_PACKET_ID,
                     MAX_REMAINING_LENGTH, MAX_STRING_LENGTH, PACKET_TYPES, PROPERTY_IDS, PROPERTY_TABLE,
                     PROTOCOL_NAMES, STRING, STRING_PAIR, SUBSCRIPTION_OPTIONS, TWO_BYTE, MqttError, Packet)

_u16 = struct.Struct('>H').pack
_u32 = struct.Struct('>I').pack
_ack_short = struct.Struct('>BBH').pack
_PINGS = {'PINGREQ': b'\xc0\x00', 'PINGRESP': b'\xd0\x00'}
_V3_SUBACK_CODES = frozenset((0, 1, 2, 0x80))
_LIMITS = {BYTE: 0xFF, TWO_BYTE: 0xFFFF, FOUR_BYTE: 0xFFFFFFFF}


class MqttEncoder:
    """Turns packets into bytes for one direction of an MQTT stream.

    `state` is the dict shared with the decoders and the other encoder of the same connection: encoding a
    CONNECT sets state['protocol_level'] (from its protocol_level, or the level already known, or 4), and the
    packets after it are written in that level's format. Encoding checks the fields and raises MqttError for
    what the decoder would refuse (a QoS of 3, a missing packet id, a property not allowed in the packet, v5
    properties or reason codes at level 3 or 4, a string over 65535 bytes...).

    A packet that the decoder made and whose fields still have the values they were decoded with is written back
    as it arrived, byte for byte, if the stream is at the level it was decoded at: the spec often allows several
    forms of one packet (a v5 PUBACK with reason code 0 and no properties may have 2, 3 or 4 bytes after its fixed
    header; lengths may take more bytes than needed; properties come in any order), and a proxy must not change
    what no script changed. A PUBLISH whose head is unchanged but whose payload is of another size keeps the bytes
    of its head, with the remaining length that the new payload makes. Any other packet, built by a script or
    changed by one, is written from its fields in the shortest form the spec allows: a v5 PUBACK with reason code
    0 and no properties is then 4 bytes in all.

    Keeping the arrived bytes while the packet is unchanged, rather than remembering the form each field came in,
    is exact for every form the decoder accepts without a model of each, makes the unchanged packet the cheapest
    to write, and cannot lose a change: the fields that decide the bytes are compared with their decoded values
    when encoding, dicts and lists by value, so a change made in place counts too.
    """

    def __init__(self, state):
        self.state = state

    def encode(self, head, payload=b''):
        """The bytes of one packet. `payload` is the PUBLISH application message; other types take none."""
        if type(head) is not Packet:
            head = _as_packet(head)
        level = self.state.get('protocol_level', DEFAULT_PROTOCOL_LEVEL)
        wire = head._wire
        if wire is not None:
            raw, decoded_at, key, kept, size = wire
            # A CONNECT (decoded_at None) is written at its own level; anything else only at the one it came in.
            if (decoded_at == level or decoded_at is None) and key(head) == kept:
                if not payload:
                    if not size:
                        if decoded_at is None:
                            self.state['protocol_level'] = head.protocol_level
                        return raw
                elif size == len(payload) and type(payload) is bytes:
                    return raw + payload
                if head.type == 'PUBLISH':
                    return _resized(raw, payload)
        name = head.type
        if name == 'PUBLISH':
            return _publish(head, payload, level)
        if not isinstance(name, str):
            raise MqttError('an MQTT packet type is a name like %r, not %r' % ('PUBLISH', name))
        if payload:
            raise MqttError('%s carries no payload (got %d bytes)' % (name, len(payload)))
        if name in _PINGS:
            return _PINGS[name]
        if name in _ACKS:
            if level < 5 or (not head.reason_code and not head.properties):
                _check_no_v5(head, name, level)
                return _ack_short(_ACKS[name], 2, _packet_id(head, name))
            return _fixed(_ACKS[name], _reason_only(head, name, level, bytearray(_u16(_packet_id(head, name)))))
        code = PACKET_TYPES.get(name)
        if code is None:
            raise MqttError('unknown MQTT packet type %r' % (name,))
        if name == 'CONNECT':
            level = _connect_level(head, level)
            data = _fixed(0x10, _connect(head, level))
            self.state['protocol_level'] = level
            return data
        return _fixed(code << 4 | FIXED_FLAGS[code], _ENCODERS[name](head, name, level))


def _as_packet(head):
    if not isinstance(head, dict):
        if isinstance(head, Packet):
            return head
        raise MqttError('an MQTT head is a Packet or a dict, not %s' % type(head).__name__)
    unknown = set(head).difference(FIELDS)
    if unknown:
        raise MqttError('unknown MQTT head fields: %s' % ', '.join(sorted(map(str, unknown))))
    return Packet(**head)


# ------------------------------------------------------------------ fields

def _varint(value):
    if value < 128:
        return bytes((value,))
    out = bytearray()
    while value >= 128:
        out.append(value & 127 | 128)
        value >>= 7
    out.append(value)
    return bytes(out)


def _fixed(first, body):
    if len(body) > MAX_REMAINING_LENGTH:
        raise MqttError('remaining length %d exceeds %d' % (len(body), MAX_REMAINING_LENGTH))
    return bytes((first,)) + _varint(len(body)) + body


def _resized(raw, payload):
    """A PUBLISH as it arrived up to its payload (`raw`), with another payload and the remaining length that fits."""
    payload = _bytes(payload or b'', 'PUBLISH payload')
    start = 2
    while raw[start - 1] & 128:
        start += 1
    length = len(raw) - start + len(payload)
    if length > MAX_REMAINING_LENGTH:
        raise MqttError('remaining length %d exceeds %d' % (length, MAX_REMAINING_LENGTH))
    return b''.join((raw[:1], _varint(length), raw[start:], payload))


def _int(value, limit, what):
    if not isinstance(value, int):
        raise MqttError('%s must be an int, not %s' % (what, type(value).__name__))
    if not 0 <= value <= limit:
        raise MqttError('%s %d is out of range 0..%d' % (what, value, limit))
    return value


def _string(value, what):
    if not isinstance(value, str):
        raise MqttError('%s must be a str, not %s' % (what, type(value).__name__))
    if '\x00' in value:
        raise MqttError('%s contains the null character U+0000' % what)
    try:
        data = value.encode('utf-8')
    except UnicodeEncodeError as e:
        raise MqttError('%s cannot be encoded as UTF-8 (%s)' % (what, e.reason)) from None
    if len(data) > MAX_STRING_LENGTH:
        raise MqttError('%s of %d bytes exceeds %d' % (what, len(data), MAX_STRING_LENGTH))
    return _u16(len(data)) + data


def _bytes(value, what):
    if isinstance(value, str):
        return value.encode('utf-8')
    if isinstance(value, (bytes, bytearray, memoryview)):
        return value
    raise MqttError('%s must be bytes, not %s' % (what, type(value).__name__))


def _binary(value, what):
    data = _bytes(value, what)
    if len(data) > MAX_STRING_LENGTH:
        raise MqttError('%s of %d bytes exceeds %d' % (what, len(data), MAX_STRING_LENGTH))
    return _u16(len(data)) + bytes(data)


def _packet_id(head, name):
    pid = head.packet_id
    if pid is None:
        raise MqttError('%s needs a packet_id' % name)
    if not isinstance(pid, int) or not 1 <= pid <= MAX_PACKET_ID:
        raise MqttError('%s packet_id %r is out of range 1..%d' % (name, pid, MAX_PACKET_ID))
    return pid


def _check_no_v5(head, name, level):
    if head.reason_code:
        raise MqttError('%s reason code %r needs MQTT 5 (protocol level is %d)' % (name, head.reason_code, level))
    if head.properties:
        raise MqttError('%s properties need MQTT 5 (protocol level is %d)' % (name, level))


def _properties(props, where, level):
    """The property length and properties of a v5 packet; nothing before 5.0 (where there must be none)."""
    if level < 5:
        if props:
            raise MqttError('%s properties need MQTT 5 (protocol level is %d)' % (where, level))
        return b''
    if not props:
        return b'\x00'
    if not isinstance(props, dict):
        raise MqttError('%s properties must be a dict, not %s' % (where, type(props).__name__))
    out = bytearray()
    for name, value in props.items():
        pid = PROPERTY_IDS.get(name)
        if pid is None:
            raise MqttError('%s: unknown property %r' % (where, name))
        _, kind, places = PROPERTY_TABLE[pid]
        if where not in places:
            raise MqttError('%s: property %s is not allowed there' % (where, name))
        what = where + ' ' + name
        if kind == STRING_PAIR:
            pairs = value.items() if isinstance(value, dict) else value
            for pair in pairs:
                if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                    raise MqttError('%s: each user property is a (name, value) pair, not %r' % (what, pair))
                out.append(pid)
                out += _string(pair[0], what + ' name')
                out += _string(pair[1], what + ' value')
        elif pid == 0x0B:  # subscription_identifier: a list (repeats in PUBLISH), or one int
            values = [value] if isinstance(value, int) else list(value)
            if len(values) > 1 and where != 'PUBLISH':
                raise MqttError('%s: more than one subscription_identifier' % where)
            for one in values:
                out.append(pid)
                out += _varint(_int(one, MAX_REMAINING_LENGTH, what))
        elif kind == STRING:
            out.append(pid)
            out += _string(value, what)
        elif kind == BINARY:
            out.append(pid)
            out += _binary(value, what)
        else:
            out.append(pid)
            value = _int(value, _LIMITS[kind], what)
            out += bytes((value,)) if kind == BYTE else _u16(value) if kind == TWO_BYTE else _u32(value)
    return _varint(len(out)) + out


def _reason_only(head, name, level, out):
    """Appends the optional reason code and properties of a v5 ack, DISCONNECT or AUTH, in the shortest form."""
    code = head.reason_code or 0
    _int(code, 0xFF, name + ' reason code')
    if head.properties:
        out.append(code)
        out += _properties(head.properties, name, level)
    elif code:
        out.append(code)
        if name == 'AUTH':  # only DISCONNECT and the acks may leave out a zero property length
            out.append(0)
    return out


# ------------------------------------------------------------------ packets

_ACKS = {'PUBACK': 0x40, 'PUBREC': 0x50, 'PUBREL': 0x62, 'PUBCOMP': 0x70}


def _publish(head, payload, level):
    qos = head.qos
    if qos not in (0, 1, 2):
        raise MqttError('PUBLISH QoS %r is not 0, 1 or 2' % (qos,))
    if head.topic is None:
        raise MqttError('PUBLISH needs a topic')
    out = bytearray(_string(head.topic, 'PUBLISH topic'))
    if qos:
        out += _u16(_packet_id(head, 'PUBLISH'))
    if level >= 5:
        out += _properties(head.properties, 'PUBLISH', level) if head.properties else b'\x00'
    elif head.properties:
        raise MqttError('PUBLISH properties need MQTT 5 (protocol level is %d)' % level)
    if payload:
        out += _bytes(payload, 'PUBLISH payload')
    return _fixed(0x30 | bool(head.dup) << 3 | qos << 1 | bool(head.retain), out)


def _connect_level(head, level):
    if head.protocol_level is not None:
        level = head.protocol_level
    if level not in PROTOCOL_NAMES:
        raise MqttError('CONNECT: unsupported protocol level %r' % (level,))
    if head.protocol_name is not None and head.protocol_name != PROTOCOL_NAMES[level]:
        raise MqttError('CONNECT: protocol level %d is named %r, not %r'
                        % (level, PROTOCOL_NAMES[level], head.protocol_name))
    return level


def _connect(head, level):
    flags = 2 if head.clean_start else 0
    out = bytearray(_string(PROTOCOL_NAMES[level], 'CONNECT protocol name'))
    out.append(level)
    out.append(0)  # the flags, filled in below
    out += _u16(_int(head.keep_alive or 0, 0xFFFF, 'CONNECT keep_alive'))
    out += _properties(head.properties, 'CONNECT', level)
    out += _string(head.client_id or '', 'CONNECT client_id')
    if head.will_topic is not None:
        flags |= 4 | _int(head.will_qos, 2, 'CONNECT will_qos') << 3 | (0x20 if head.will_retain else 0)
        out += _properties(head.will_properties, 'WILL', level)
        out += _string(head.will_topic, 'CONNECT will_topic')
        out += _binary(head.will_payload or b'', 'CONNECT will_payload')
    elif head.will_payload is not None or head.will_qos or head.will_retain or head.will_properties:
        raise MqttError('CONNECT: will fields without a will_topic')
    if head.username is not None:
        flags |= 0x80
        out += _string(head.username, 'CONNECT username')
    if head.password is not None:
        if level < 5 and head.username is None:
            raise MqttError('CONNECT: a password without a username needs MQTT 5')
        flags |= 0x40
        out += _binary(head.password, 'CONNECT password')
    out[len(PROTOCOL_NAMES[level]) + 3] = flags
    return out


def _connack(head, name, level):
    out = bytearray((1 if head.session_present else 0, _int(head.reason_code or 0, 0xFF, 'CONNACK reason_code')))
    out += _properties(head.properties, 'CONNACK', level)
    return out


def _subscribe(head, name, level):
    out = bytearray(_u16(_packet_id(head, name)))
    out += _properties(head.properties, name, level)
    if not head.subscriptions:
        raise MqttError('SUBSCRIBE with no topic filters')
    for item in head.subscriptions:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise MqttError('SUBSCRIBE: each subscription is a (topic filter, options) pair, not %r' % (item,))
        topic, options = item
        out += _string(topic, 'SUBSCRIBE topic filter')
        out.append(_subscription_options(topic, options, level))
    return out


def _subscription_options(topic, options, level):
    if not isinstance(options, dict):
        return _int(options, 2, 'SUBSCRIBE QoS for %r' % topic)
    unknown = set(options).difference(SUBSCRIPTION_OPTIONS)
    if unknown:
        raise MqttError('SUBSCRIBE: unknown options %s for %r' % (', '.join(sorted(map(str, unknown))), topic))
    byte = _int(options.get('qos', 0), 2, 'SUBSCRIBE QoS for %r' % topic)
    rest = (4 if options.get('no_local') else 0) | (8 if options.get('retain_as_published') else 0)
    rest |= _int(options.get('retain_handling', 0), 2, 'SUBSCRIBE retain_handling for %r' % topic) << 4
    if rest and level < 5:
        raise MqttError('SUBSCRIBE: options other than qos need MQTT 5 (protocol level is %d)' % level)
    return byte | rest


def _unsubscribe(head, name, level):
    out = bytearray(_u16(_packet_id(head, name)))
    out += _properties(head.properties, name, level)
    if not head.topics:
        raise MqttError('UNSUBSCRIBE with no topic filters')
    for topic in head.topics:
        out += _string(topic, 'UNSUBSCRIBE topic filter')
    return out


def _suback(head, name, level):
    out = bytearray(_u16(_packet_id(head, name)))
    if name == 'UNSUBACK' and level < 5:
        if head.reason_codes:
            raise MqttError('UNSUBACK reason codes need MQTT 5 (protocol level is %d)' % level)
        _check_no_v5(head, name, level)
        return out
    out += _properties(head.properties, name, level)
    codes = head.reason_codes
    if not codes:
        raise MqttError('%s with no reason codes' % name)
    for code in codes:
        out.append(_int(code, 0xFF, name + ' reason code'))
    if level < 5 and not _V3_SUBACK_CODES.issuperset(codes):
        raise MqttError('SUBACK: invalid return codes %r' % sorted(set(codes) - _V3_SUBACK_CODES))
    return out


def _disconnect(head, name, level):
    if level < 5:
        if name == 'AUTH':
            raise MqttError('AUTH needs MQTT 5 (protocol level is %d)' % level)
        _check_no_v5(head, name, level)
        return b''
    return _reason_only(head, name, level, bytearray())


_ENCODERS = {'CONNACK': _connack, 'SUBSCRIBE': _subscribe, 'SUBACK': _suback, 'UNSUBSCRIBE': _unsubscribe,
             'UNSUBACK': _suback, 'DISCONNECT': _disconnect, 'AUTH': _disconnect}
