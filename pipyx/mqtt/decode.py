"""MQTT decoder: bytes in, (Packet, payload) out, with no I/O.

Strict where a malformed packet would confuse the next hop (lengths, reserved bits, UTF-8, packet ids, property
placement), lenient where the spec allows a shorter form or where accepting costs nothing (see MqttDecoder).
"""
from operator import attrgetter
from types import MappingProxyType

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
    - variable byte integers in more bytes than needed (a remaining length of 0 as 80 00, say), which MQTT 5
      forbids, are accepted: brokers take them (mosquitto in the fixed header), and a proxy must not cut off a
      device that its broker would serve. They go back out as they came (see MqttEncoder), so the receiver
      still decides. A fifth length byte is refused.

    A packet keeps the bytes it arrived as (without a PUBLISH's payload) and the values of the fields its bytes
    depend on, so that MqttEncoder can write it back as it came while those fields keep their values.
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
            packet, payload = _DECODERS[code](code, flags, mv, pos, start, end, level)
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


# ------------------------------------------------------------------ what the encoder checks
# A decoded packet carries Packet._wire = (its bytes, the level it was decoded at, a key getter, the key as decoded,
# the size of the PUBLISH payload). The key is the tuple of the fields the encoder reads for that type; the encoder
# writes the arrived bytes back when the getter gives a key equal to the one kept. The kept key holds copies of the
# dicts and lists, since a script may change those in place; _NO_PROPS stands for the usual empty dict without a
# copy (it compares equal to {} and nobody can fill it). Each getter below must list the fields in the order its
# decoder builds the kept key.
# The packets that arrive in the very form the encoder writes from their fields, and that it writes at no more cost
# than a copy (an ack of 4 bytes, PINGREQ, an empty DISCONNECT: most of a connection's small packets), keep nothing.

_NO_PROPS = MappingProxyType({})


def _kept(props):
    if not props:
        return _NO_PROPS
    kept = props.copy()
    # the only lists in decoded properties; their items are tuples and ints
    value = kept.get('user_property')
    if value is not None:
        kept['user_property'] = value[:]
    value = kept.get('subscription_identifier')
    if value is not None:
        kept['subscription_identifier'] = value[:]
    return kept


_PUBLISH_KEY = attrgetter('type', 'dup', 'qos', 'retain', 'packet_id', 'topic', 'properties')
_ACK_KEY = attrgetter('type', 'packet_id', 'reason_code', 'properties')
_EMPTY_KEY = attrgetter('type')
_REASON_KEY = attrgetter('type', 'reason_code', 'properties')
_CONNECT_KEY = attrgetter('type', 'protocol_name', 'protocol_level', 'client_id', 'clean_start', 'keep_alive',
                          'username', 'password', 'will_topic', 'will_payload', 'will_qos', 'will_retain',
                          'will_properties', 'properties')
_CONNACK_KEY = attrgetter('type', 'session_present', 'reason_code', 'properties')
_SUBSCRIBE_KEY = attrgetter('type', 'packet_id', 'subscriptions', 'properties')
_UNSUBSCRIBE_KEY = attrgetter('type', 'packet_id', 'topics', 'properties')
_SUBACK_KEY = attrgetter('type', 'packet_id', 'reason_codes', 'properties')


# ------------------------------------------------------------------ packets
# Each decoder takes (type code, fixed header flags, buffer, where the packet starts, where its variable header
# starts, its end, protocol level) -> (Packet, payload), and sets the packet's _wire.

def _publish(code, flags, mv, first, pos, end, level):
    topic, pos = _string(mv, pos, end, 'PUBLISH topic')
    qos = flags >> 1 & 3
    dup = flags & 8 != 0
    retain = flags & 1 != 0
    p = Packet('PUBLISH', dup, qos, retain)
    p.topic = topic
    pid = None
    if qos:
        pid, pos = _packet_id(mv, pos, end, 'PUBLISH')
        p.packet_id = pid
    props = _NO_PROPS
    if level >= 5:
        if pos < end and mv[pos] == 0:  # no properties, the common case
            pos += 1
        else:
            p.properties, pos = _properties(mv, pos, end, 'PUBLISH')
            props = _kept(p.properties)
    p._wire = (bytes(mv[first:pos]), level, _PUBLISH_KEY, ('PUBLISH', dup, qos, retain, pid, topic, props), end - pos)
    return p, bytes(mv[pos:end])


def _ack(code, flags, mv, first, pos, end, level):
    # PUBACK, PUBREC, PUBREL, PUBCOMP: a packet id, then in 5.0 an optional reason code and optional properties.
    name = PACKET_NAMES[code]
    size = end - pos
    p = Packet(name)
    p.packet_id = pid = _packet_id(mv, pos, end, name)[0]
    reason = None
    props = _NO_PROPS
    if level >= 5:
        if size == 2:
            reason = 0
        else:
            reason = mv[pos + 2]
            if size > 3:
                p.properties, stop = _properties(mv, pos + 3, end, name)
                _done(stop, end, name)
                props = _kept(p.properties)
        p.reason_code = reason
    elif size != 2:
        _done(pos + 2, end, name)
    if size == 2 and pos == first + 2:
        return p, None
    p._wire = (bytes(mv[first:end]), level, _ACK_KEY, (name, pid, reason, props), 0)
    return p, None


def _empty(code, flags, mv, first, pos, end, level):
    # PINGREQ, PINGRESP, and DISCONNECT before 5.0.
    name = PACKET_NAMES[code]
    _done(pos, end, name)
    p = Packet(name)
    if pos == first + 2:
        return p, None
    if code == 14:  # the encoder refuses a reason code or properties on a 3.1.1 DISCONNECT: they are in its key
        p._wire = (bytes(mv[first:end]), level, _REASON_KEY, (name, None, _NO_PROPS), 0)
    else:
        p._wire = (bytes(mv[first:end]), level, _EMPTY_KEY, name, 0)
    return p, None


def _reason_only(code, flags, mv, first, pos, end, level):
    # DISCONNECT and AUTH in 5.0: an optional reason code, then optional properties.
    name = PACKET_NAMES[code]
    if level < 5:
        return _empty(code, flags, mv, first, pos, end, level)
    p = Packet(name, reason_code=0)
    if pos == end and pos == first + 2:
        return p, None
    props = _NO_PROPS
    if pos < end:
        p.reason_code = mv[pos]
        if end - pos > 1:
            p.properties, stop = _properties(mv, pos + 1, end, name)
            _done(stop, end, name)
            props = _kept(p.properties)
    p._wire = (bytes(mv[first:end]), level, _REASON_KEY, (name, p.reason_code, props), 0)
    return p, None


def _connect(code, flags, mv, first, pos, end, level):
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
    # No level here: a CONNECT is written in the format of its own protocol level, which is in its key.
    p._wire = (bytes(mv[first:end]), None, _CONNECT_KEY, (
        'CONNECT', name, level, p.client_id, p.clean_start, keep_alive, p.username, p.password, p.will_topic,
        p.will_payload, p.will_qos, p.will_retain, _kept(p.will_properties), _kept(p.properties)), 0)
    return p, None


def _connack(code, flags, mv, first, pos, end, level):
    ack_flags, pos = _byte(mv, pos, end, 'CONNACK flags')
    if ack_flags & 0xFE:
        raise MqttError('CONNACK: reserved flag bits 0x%02x are set' % (ack_flags & 0xFE))
    p = Packet('CONNACK', session_present=ack_flags == 1)
    p.reason_code, pos = _byte(mv, pos, end, 'CONNACK reason code')
    if level >= 5 and pos < end:
        p.properties, pos = _properties(mv, pos, end, 'CONNACK')
    _done(pos, end, 'CONNACK')
    p._wire = (bytes(mv[first:end]), level, _CONNACK_KEY,
               ('CONNACK', p.session_present, p.reason_code, _kept(p.properties)), 0)
    return p, None


def _subscribe(code, flags, mv, first, pos, end, level):
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
    kept = subs[:] if level < 5 else [(topic, dict(options)) for topic, options in subs]
    p._wire = (bytes(mv[first:end]), level, _SUBSCRIBE_KEY, ('SUBSCRIBE', p.packet_id, kept, _kept(p.properties)), 0)
    return p, None


def _unsubscribe(code, flags, mv, first, pos, end, level):
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
    p._wire = (bytes(mv[first:end]), level, _UNSUBSCRIBE_KEY,
               ('UNSUBSCRIBE', p.packet_id, topics[:], _kept(p.properties)), 0)
    return p, None


def _suback(code, flags, mv, first, pos, end, level):
    # SUBACK, and UNSUBACK in 5.0: a packet id, properties, one reason code per filter.
    name = PACKET_NAMES[code]
    p = Packet(name)
    p.packet_id, pos = _packet_id(mv, pos, end, name)
    if level < 5 and code == 11:
        _done(pos, end, name)
        p._wire = (bytes(mv[first:end]), level, _SUBACK_KEY, (name, p.packet_id, None, _NO_PROPS), 0)
        return p, None
    if level >= 5:
        p.properties, pos = _properties(mv, pos, end, name)
    if pos >= end:
        raise MqttError('%s with no reason codes' % name)
    codes = list(mv[pos:end])
    if level < 5 and not _V3_SUBACK_CODES.issuperset(codes):
        raise MqttError('SUBACK: invalid return codes %r' % sorted(set(codes) - _V3_SUBACK_CODES))
    p.reason_codes = codes
    p._wire = (bytes(mv[first:end]), level, _SUBACK_KEY, (name, p.packet_id, codes[:], _kept(p.properties)), 0)
    return p, None


_DECODERS = (None, _connect, _connack, _publish, _ack, _ack, _ack, _ack, _subscribe, _suback, _unsubscribe,
             _suback, _empty, _empty, _reason_only, _reason_only)
