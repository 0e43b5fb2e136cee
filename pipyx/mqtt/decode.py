"""MQTT decoder: bytes in, (Packet, payload) out, with no I/O.

Strict where a malformed packet would confuse the next hop (lengths, reserved bits, UTF-8, packet ids, property
placement), lenient where the spec allows a shorter form or where accepting costs nothing (see MqttDecoder).
"""
from .packet import (ALLOWED_PROPERTIES, BINARY, BYTE, DEFAULT_MAX_PACKET_SIZE, DEFAULT_PROTOCOL_LEVEL, FIXED_FLAGS,
                     FOUR_BYTE, MAX_REMAINING_LENGTH, PACKET_NAMES, PROPERTY_TABLE, PROTOCOL_NAMES, STRING,
                     STRING_PAIR, TWO_BYTE, MqttError, Packet)

_V3_SUBACK_CODES = frozenset((0, 1, 2, 0x80))


class MqttDecoder:
    """Turns the bytes of one direction of an MQTT stream into packets.

    `state` is the dict shared by the decoder and encoder of both directions of one connection: a CONNECT going
    by sets state['protocol_level'], which decides the format of the packets after it (4 until one is seen).

    feed(data) returns [(Packet, payload), ...] for every packet completed by `data`; payload is the PUBLISH
    application message (bytes) and None for every other type. An incomplete packet is kept until the rest
    arrives, but never more than `max_packet_size` bytes of it: the size is checked as soon as the fixed header
    is in. Malformed input raises MqttError, after which the decoder refuses further input.

    Choices where the spec leaves room:
    - a v5 property that the spec does not allow in that packet is rejected (a malformed packet, per the
      spec), as are unknown property ids and repeats of a property that may appear once; property values
      are checked for type and length, not for meaning (a topic alias of 0 passes);
    - the short forms of v5 PUBACK, PUBREC, PUBREL, PUBCOMP, DISCONNECT and AUTH all decode, the reason code
      then being 0; an AUTH of one byte (reason code, no property length) is accepted like DISCONNECT's;
    - a v5 CONNACK of two bytes (what a 3.1.1 server answers to a v5 CONNECT it refuses) decodes with no
      properties;
    - non-minimal variable byte integers are accepted; a fifth length byte is not.
    """

    def __init__(self, state, max_packet_size=DEFAULT_MAX_PACKET_SIZE):
        self.state = state
        self.max_packet_size = max_packet_size
        self._buffer = None  # a bytearray holding the start of an incomplete packet
        self._error = None

    @property
    def buffered(self):
        """Bytes held of an incomplete packet."""
        return len(self._buffer) if self._buffer else 0

    def feed(self, data):
        if self._error is not None:
            raise MqttError('MQTT decoder stopped by an earlier error: %s' % self._error)
        held = self._buffer
        if held:
            held += data
            data = held
        elif not data:
            return []
        try:
            if type(data) is bytes:  # slices of bytes are bytes: no view needed
                packets, used = self._decode(data)
            else:  # a view, so that slicing a large bytearray copies only what is kept
                with memoryview(data) as view:
                    packets, used = self._decode(view)
        except MqttError as e:
            self._error = e
            self._buffer = None
            raise
        if used == len(data):
            self._buffer = None
        elif used or held is None:
            self._buffer = bytearray(data[used:])
        return packets

    def _decode(self, mv):
        out = []
        n = len(mv)
        pos = 0
        state = self.state
        max_size = self.max_packet_size
        while pos < n:
            b0 = mv[pos]
            code = b0 >> 4
            flags = b0 & 15
            level = state.get('protocol_level', DEFAULT_PROTOCOL_LEVEL)
            if code == 3:
                if flags & 6 == 6:
                    raise MqttError('PUBLISH with QoS 3')
            elif code == 0:
                raise MqttError('reserved MQTT packet type 0 (first byte 0x%02x)' % b0)
            elif flags != FIXED_FLAGS[code]:
                raise MqttError('%s: reserved flags 0x%x in the fixed header (must be 0x%x)'
                                % (PACKET_NAMES[code], flags, FIXED_FLAGS[code]))
            elif code == 15 and level < 5:
                raise MqttError('AUTH needs MQTT 5 (protocol level is %d)' % level)
            if pos + 1 >= n:
                break
            b = mv[pos + 1]
            if b < 128:
                length = b
                start = pos + 2
            else:
                length, start = _remaining_length(mv, pos + 1, n)
                if length is None:
                    break
            end = start + length
            if end - pos > max_size:
                raise MqttError('%s of %d bytes exceeds max_packet_size %d' % (PACKET_NAMES[code], end - pos, max_size))
            if end > n:
                break
            packet, payload = _DECODERS[code](code, flags, mv, start, end, level)
            if code == 1:
                state['protocol_level'] = packet.protocol_level
            out.append((packet, payload))
            pos = end
        return out, pos


# ------------------------------------------------------------------ fields
# Each reader takes the buffer, the position and the end of what it may read, and returns (value, new position).

def _remaining_length(mv, pos, n):
    """The fixed header's length: (value, position after it), or (None, 0) while incomplete."""
    value = 0
    for i in range(4):
        if pos + i >= n:
            return None, 0
        b = mv[pos + i]
        value |= (b & 127) << (7 * i)
        if b < 128:
            return value, pos + i + 1
    raise MqttError('remaining length exceeds %d (more than 4 length bytes)' % MAX_REMAINING_LENGTH)


def _short(what, need, have):
    return MqttError('%s: needs %d bytes, only %d left in the packet' % (what, need, have))


def _varint(mv, pos, end, what):
    value = 0
    for i in range(4):
        if pos + i >= end:
            raise _short(what, i + 1, end - pos)
        b = mv[pos + i]
        value |= (b & 127) << (7 * i)
        if b < 128:
            return value, pos + i + 1
    raise MqttError('%s: variable byte integer longer than 4 bytes' % what)


def _byte(mv, pos, end, what):
    if pos >= end:
        raise _short(what, 1, 0)
    return mv[pos], pos + 1


def _u16(mv, pos, end, what):
    if pos + 2 > end:
        raise _short(what, 2, end - pos)
    return mv[pos] << 8 | mv[pos + 1], pos + 2


def _u32(mv, pos, end, what):
    if pos + 4 > end:
        raise _short(what, 4, end - pos)
    return int.from_bytes(mv[pos:pos + 4], 'big'), pos + 4


def _binary(mv, pos, end, what):
    if pos + 2 > end:
        raise _short(what + ' length', 2, end - pos)
    stop = pos + 2 + (mv[pos] << 8 | mv[pos + 1])
    if stop > end:
        raise MqttError('%s: length %d runs past the end of the packet (%d bytes left)'
                        % (what, stop - pos - 2, end - pos - 2))
    return bytes(mv[pos + 2:stop]), stop


def _string(mv, pos, end, what):
    if pos + 2 > end:
        raise _short(what + ' length', 2, end - pos)
    stop = pos + 2 + (mv[pos] << 8 | mv[pos + 1])
    if stop > end:
        raise MqttError('%s: length %d runs past the end of the packet (%d bytes left)'
                        % (what, stop - pos - 2, end - pos - 2))
    return _utf8(mv[pos + 2:stop], what), stop


def _utf8(view, what):
    try:
        text = str(view, 'utf-8')
    except UnicodeDecodeError as e:
        raise MqttError('%s is not valid UTF-8 (%s at byte %d)' % (what, e.reason, e.start)) from None
    if '\x00' in text:
        raise MqttError('%s contains the null character U+0000' % what)
    return text


def _packet_id(mv, pos, end, name):
    if pos + 2 > end:
        raise _short(name + ' packet id', 2, end - pos)
    pid = mv[pos] << 8 | mv[pos + 1]
    if not pid:
        raise MqttError('%s with packet id 0' % name)
    return pid, pos + 2


def _properties(mv, pos, end, where):
    length, pos = _varint(mv, pos, end, where + ' property length')
    if not length:
        return {}, pos
    stop = pos + length
    if stop > end:
        raise MqttError('%s: property length %d runs past the end of the packet (%d bytes left)'
                        % (where, length, end - pos))
    allowed = ALLOWED_PROPERTIES[where]
    props = {}
    while pos < stop:
        pid = mv[pos]
        pos += 1
        entry = allowed.get(pid)
        if entry is None:
            if pid in PROPERTY_TABLE:
                raise MqttError('%s: property %s is not allowed there' % (where, PROPERTY_TABLE[pid][0]))
            raise MqttError('%s: unknown property id 0x%02x' % (where, pid))
        name, kind = entry
        what = where + ' ' + name
        if kind == STRING:
            value, pos = _string(mv, pos, stop, what)
        elif kind == BYTE:
            value, pos = _byte(mv, pos, stop, what)
        elif kind == TWO_BYTE:
            value, pos = _u16(mv, pos, stop, what)
        elif kind == FOUR_BYTE:
            value, pos = _u32(mv, pos, stop, what)
        elif kind == BINARY:
            value, pos = _binary(mv, pos, stop, what)
        elif kind == STRING_PAIR:
            key, pos = _string(mv, pos, stop, what + ' name')
            value, pos = _string(mv, pos, stop, what + ' value')
            value = (key, value)
        else:
            value, pos = _varint(mv, pos, stop, what)
        if kind == STRING_PAIR or (pid == 0x0B and where == 'PUBLISH'):
            props.setdefault(name, []).append(value)
        elif name in props:
            raise MqttError('%s: property %s appears twice' % (where, name))
        elif pid == 0x0B:
            props[name] = [value]
        else:
            props[name] = value
    return props, pos


def _done(pos, end, name):
    if pos != end:
        raise MqttError('%s: %d unexpected bytes at the end of the packet' % (name, end - pos))


# ------------------------------------------------------------------ packets
# Each decoder takes (type code, fixed header flags, buffer, start, end, protocol level) -> (Packet, payload).

def _publish(code, flags, mv, pos, end, level):
    topic, pos = _string(mv, pos, end, 'PUBLISH topic')
    qos = flags >> 1 & 3
    p = Packet('PUBLISH', flags & 8 != 0, qos, flags & 1 != 0)
    p.topic = topic
    if qos:
        p.packet_id, pos = _packet_id(mv, pos, end, 'PUBLISH')
    if level >= 5:
        if pos < end and mv[pos] == 0:  # no properties, the common case
            pos += 1
        else:
            p.properties, pos = _properties(mv, pos, end, 'PUBLISH')
    return p, bytes(mv[pos:end])


def _ack(code, flags, mv, pos, end, level):
    # PUBACK, PUBREC, PUBREL, PUBCOMP: a packet id, then in 5.0 an optional reason code and optional properties.
    name = PACKET_NAMES[code]
    size = end - pos
    p = Packet(name)
    p.packet_id, pos = _packet_id(mv, pos, end, name)
    if level >= 5:
        if size == 2:
            p.reason_code = 0
        else:
            p.reason_code = mv[pos]
            if size > 3:
                p.properties, pos = _properties(mv, pos + 1, end, name)
                _done(pos, end, name)
    elif size != 2:
        _done(pos, end, name)
    return p, None


def _empty(code, flags, mv, pos, end, level):
    # PINGREQ, PINGRESP, and DISCONNECT before 5.0.
    name = PACKET_NAMES[code]
    _done(pos, end, name)
    return Packet(name), None


def _reason_only(code, flags, mv, pos, end, level):
    # DISCONNECT and AUTH in 5.0: an optional reason code, then optional properties.
    name = PACKET_NAMES[code]
    if level < 5:
        return _empty(code, flags, mv, pos, end, level)
    p = Packet(name, reason_code=0)
    if pos < end:
        p.reason_code = mv[pos]
        if end - pos > 1:
            p.properties, pos = _properties(mv, pos + 1, end, name)
            _done(pos, end, name)
    return p, None


def _connect(code, flags, mv, pos, end, level):
    name, pos = _string(mv, pos, end, 'CONNECT protocol name')
    level, pos = _byte(mv, pos, end, 'CONNECT protocol level')
    if PROTOCOL_NAMES.get(level) != name:
        raise MqttError('CONNECT: unsupported protocol %r level %d' % (name, level))
    cflags, pos = _byte(mv, pos, end, 'CONNECT flags')
    keep_alive, pos = _u16(mv, pos, end, 'CONNECT keep alive')
    if cflags & 1:
        raise MqttError('CONNECT: reserved flag bit 0 is set')
    will = cflags & 4
    will_qos = cflags >> 3 & 3
    if will_qos == 3:
        raise MqttError('CONNECT: will QoS 3')
    if not will and cflags & 0x38:
        raise MqttError('CONNECT: will QoS or will retain set without a will')
    if level < 5 and cflags & 0xC0 == 0x40:
        raise MqttError('CONNECT: a password without a user name needs MQTT 5')
    p = Packet('CONNECT', protocol_name=name, protocol_level=level, clean_start=cflags & 2 != 0,
               keep_alive=keep_alive)
    if level >= 5:
        p.properties, pos = _properties(mv, pos, end, 'CONNECT')
    p.client_id, pos = _string(mv, pos, end, 'CONNECT client id')
    if will:
        if level >= 5:
            p.will_properties, pos = _properties(mv, pos, end, 'WILL')
        p.will_topic, pos = _string(mv, pos, end, 'CONNECT will topic')
        p.will_payload, pos = _binary(mv, pos, end, 'CONNECT will payload')
        p.will_qos = will_qos
        p.will_retain = cflags & 0x20 != 0
    if cflags & 0x80:
        p.username, pos = _string(mv, pos, end, 'CONNECT user name')
    if cflags & 0x40:
        p.password, pos = _binary(mv, pos, end, 'CONNECT password')
    _done(pos, end, 'CONNECT')
    return p, None


def _connack(code, flags, mv, pos, end, level):
    ack_flags, pos = _byte(mv, pos, end, 'CONNACK flags')
    if ack_flags & 0xFE:
        raise MqttError('CONNACK: reserved flag bits 0x%02x are set' % (ack_flags & 0xFE))
    p = Packet('CONNACK', session_present=ack_flags == 1)
    p.reason_code, pos = _byte(mv, pos, end, 'CONNACK reason code')
    if level >= 5 and pos < end:
        p.properties, pos = _properties(mv, pos, end, 'CONNACK')
    _done(pos, end, 'CONNACK')
    return p, None


def _subscribe(code, flags, mv, pos, end, level):
    p = Packet('SUBSCRIBE')
    p.packet_id, pos = _packet_id(mv, pos, end, 'SUBSCRIBE')
    if level >= 5:
        p.properties, pos = _properties(mv, pos, end, 'SUBSCRIBE')
    subs = []
    while pos < end:
        topic, pos = _string(mv, pos, end, 'SUBSCRIBE topic filter')
        options, pos = _byte(mv, pos, end, 'SUBSCRIBE options')
        qos = options & 3
        if qos == 3:
            raise MqttError('SUBSCRIBE: QoS 3 for %r' % topic)
        if level < 5:
            if options & 0xFC:
                raise MqttError('SUBSCRIBE: reserved option bits 0x%02x for %r' % (options & 0xFC, topic))
            subs.append((topic, qos))
            continue
        if options & 0xC0 or options & 0x30 == 0x30:
            raise MqttError('SUBSCRIBE: invalid options 0x%02x for %r' % (options, topic))
        subs.append((topic, {'qos': qos, 'no_local': options & 4 != 0, 'retain_as_published': options & 8 != 0,
                             'retain_handling': options >> 4 & 3}))
    if not subs:
        raise MqttError('SUBSCRIBE with no topic filters')
    p.subscriptions = subs
    return p, None


def _unsubscribe(code, flags, mv, pos, end, level):
    p = Packet('UNSUBSCRIBE')
    p.packet_id, pos = _packet_id(mv, pos, end, 'UNSUBSCRIBE')
    if level >= 5:
        p.properties, pos = _properties(mv, pos, end, 'UNSUBSCRIBE')
    topics = []
    while pos < end:
        topic, pos = _string(mv, pos, end, 'UNSUBSCRIBE topic filter')
        topics.append(topic)
    if not topics:
        raise MqttError('UNSUBSCRIBE with no topic filters')
    p.topics = topics
    return p, None


def _suback(code, flags, mv, pos, end, level):
    # SUBACK, and UNSUBACK in 5.0: a packet id, properties, one reason code per filter.
    name = PACKET_NAMES[code]
    p = Packet(name)
    p.packet_id, pos = _packet_id(mv, pos, end, name)
    if level < 5 and code == 11:
        _done(pos, end, name)
        return p, None
    if level >= 5:
        p.properties, pos = _properties(mv, pos, end, name)
    if pos >= end:
        raise MqttError('%s with no reason codes' % name)
    codes = list(mv[pos:end])
    if level < 5 and not _V3_SUBACK_CODES.issuperset(codes):
        raise MqttError('SUBACK: invalid return codes %r' % sorted(set(codes) - _V3_SUBACK_CODES))
    p.reason_codes = codes
    return p, None


_DECODERS = (None, _connect, _connack, _publish, _ack, _ack, _ack, _ack, _subscribe, _suback, _unsubscribe,
             _suback, _empty, _empty, _reason_only, _reason_only)
