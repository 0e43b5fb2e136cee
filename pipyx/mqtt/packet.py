"""MQTT control packets as one Python object, and the tables both directions of the codec read.

Covers MQTT 3.1 (protocol level 3), 3.1.1 (level 4) and 5.0 (level 5). Nothing here does I/O.
"""

# Limits of the wire format, and the decoder's default.
MAX_REMAINING_LENGTH = 268435455   # the largest variable byte integer (4 bytes)
MAX_STRING_LENGTH = 65535          # UTF-8 strings and binary data carry a two-byte length
MAX_PACKET_ID = 65535
DEFAULT_MAX_PACKET_SIZE = 1 << 20  # a whole packet, fixed header included


class MqttError(Exception):
    """Malformed, oversized or unencodable MQTT: the message says what is wrong and where."""


# Control packet names by type code (the high nibble of the first byte); code 0 is reserved.
PACKET_NAMES = (None, 'CONNECT', 'CONNACK', 'PUBLISH', 'PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP', 'SUBSCRIBE',
                'SUBACK', 'UNSUBSCRIBE', 'UNSUBACK', 'PINGREQ', 'PINGRESP', 'DISCONNECT', 'AUTH')
PACKET_TYPES = {name: code for code, name in enumerate(PACKET_NAMES) if name}

# The flags nibble every type but PUBLISH must carry (PUBLISH's are dup, qos and retain).
FIXED_FLAGS = {code: (2 if name in ('PUBREL', 'SUBSCRIBE', 'UNSUBSCRIBE') else 0)
               for code, name in enumerate(PACKET_NAMES) if name and name != 'PUBLISH'}

PROTOCOL_NAMES = {3: 'MQIsdp', 4: 'MQTT', 5: 'MQTT'}
DEFAULT_PROTOCOL_LEVEL = 4

# ------------------------------------------------------------------ v5 properties

# Value types of properties.
BYTE, TWO_BYTE, FOUR_BYTE, VARINT, STRING, BINARY, STRING_PAIR = range(7)

# 'WILL' stands for the will properties inside CONNECT.
_ACKS = ('PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP')
_MESSAGE = ('PUBLISH', 'WILL')
_ALL = tuple(PACKET_TYPES) + ('WILL',)

# id: (name, value type, where it may appear), from the MQTT 5.0 property table (section 2.2.2.2).
PROPERTY_TABLE = {
    0x01: ('payload_format_indicator', BYTE, _MESSAGE),
    0x02: ('message_expiry_interval', FOUR_BYTE, _MESSAGE),
    0x03: ('content_type', STRING, _MESSAGE),
    0x08: ('response_topic', STRING, _MESSAGE),
    0x09: ('correlation_data', BINARY, _MESSAGE),
    0x0B: ('subscription_identifier', VARINT, ('PUBLISH', 'SUBSCRIBE')),
    0x11: ('session_expiry_interval', FOUR_BYTE, ('CONNECT', 'CONNACK', 'DISCONNECT')),
    0x12: ('assigned_client_identifier', STRING, ('CONNACK',)),
    0x13: ('server_keep_alive', TWO_BYTE, ('CONNACK',)),
    0x15: ('authentication_method', STRING, ('CONNECT', 'CONNACK', 'AUTH')),
    0x16: ('authentication_data', BINARY, ('CONNECT', 'CONNACK', 'AUTH')),
    0x17: ('request_problem_information', BYTE, ('CONNECT',)),
    0x18: ('will_delay_interval', FOUR_BYTE, ('WILL',)),
    0x19: ('request_response_information', BYTE, ('CONNECT',)),
    0x1A: ('response_information', STRING, ('CONNACK',)),
    0x1C: ('server_reference', STRING, ('CONNACK', 'DISCONNECT')),
    0x1F: ('reason_string', STRING, ('CONNACK',) + _ACKS + ('SUBACK', 'UNSUBACK', 'DISCONNECT', 'AUTH')),
    0x21: ('receive_maximum', TWO_BYTE, ('CONNECT', 'CONNACK')),
    0x22: ('topic_alias_maximum', TWO_BYTE, ('CONNECT', 'CONNACK')),
    0x23: ('topic_alias', TWO_BYTE, ('PUBLISH',)),
    0x24: ('maximum_qos', BYTE, ('CONNACK',)),
    0x25: ('retain_available', BYTE, ('CONNACK',)),
    0x26: ('user_property', STRING_PAIR, _ALL),
    0x27: ('maximum_packet_size', FOUR_BYTE, ('CONNECT', 'CONNACK')),
    0x28: ('wildcard_subscription_available', BYTE, ('CONNACK',)),
    0x29: ('subscription_identifier_available', BYTE, ('CONNACK',)),
    0x2A: ('shared_subscription_available', BYTE, ('CONNACK',)),
}
PROPERTY_IDS = {name: pid for pid, (name, _, _) in PROPERTY_TABLE.items()}

# Properties that may appear more than once; their values are lists, in wire order.
# (subscription_identifier repeats only in PUBLISH: one per matching subscription.)
REPEATABLE = {'user_property', 'subscription_identifier'}

# (packet name or 'WILL') -> {property id: (name, type)}: what the decoder accepts where.
ALLOWED_PROPERTIES = {where: {pid: (name, kind) for pid, (name, kind, places) in PROPERTY_TABLE.items()
                              if where in places}
                      for where in _ALL}

# ------------------------------------------------------------------ the packet

SUBSCRIPTION_OPTIONS = ('qos', 'no_local', 'retain_as_published', 'retain_handling')

# The fields of a Packet, in the order of its constructor's arguments.
FIELDS = ('type', 'dup', 'qos', 'retain', 'packet_id', 'topic', 'protocol_name', 'protocol_level', 'client_id',
          'clean_start', 'keep_alive', 'username', 'password', 'will_topic', 'will_payload', 'will_qos', 'will_retain',
          'will_properties', 'session_present', 'reason_code', 'reason_codes', 'subscriptions', 'topics', 'properties')


class Packet:
    """One MQTT control packet. A field that a packet type does not carry keeps its default.

    type            packet name: 'CONNECT', 'CONNACK', 'PUBLISH', 'PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP',
                    'SUBSCRIBE', 'SUBACK', 'UNSUBSCRIBE', 'UNSUBACK', 'PINGREQ', 'PINGRESP', 'DISCONNECT', 'AUTH'
    dup             PUBLISH: redelivery flag (bool, default False)
    qos             PUBLISH: 0, 1 or 2 (default 0)
    retain          PUBLISH: retain flag (bool, default False)
    packet_id       PUBLISH with QoS > 0, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, SUBACK, UNSUBSCRIBE,
                    UNSUBACK: 1..65535 (default None)
    topic           PUBLISH: topic name (str; '' is allowed in 5.0 with a topic_alias property)
    protocol_name   CONNECT: 'MQTT' (levels 4, 5) or 'MQIsdp' (level 3); None encodes the level's name
    protocol_level  CONNECT: 3, 4 or 5; None encodes the stream's level (see MqttEncoder)
    client_id       CONNECT: client identifier (str; None encodes '')
    clean_start     CONNECT: clean start (5.0) / clean session (3.1.1) flag (bool, default False)
    keep_alive      CONNECT: seconds (0..65535; None encodes 0)
    username        CONNECT: str or None (absent)
    password        CONNECT: bytes or None (absent); a str is encoded as UTF-8
    will_topic      CONNECT: topic of the will message; None means no will
    will_payload    CONNECT: bytes of the will message (None encodes b'' when there is a will)
    will_qos        CONNECT: 0, 1 or 2 (default 0)
    will_retain     CONNECT: bool (default False)
    will_properties CONNECT 5.0: the will's properties, a dict like `properties` (default {})
    session_present CONNACK: bool (default False)
    reason_code     CONNACK: return code (3.1.1) or reason code (5.0); in 5.0 also PUBACK, PUBREC, PUBREL,
                    PUBCOMP, DISCONNECT, AUTH (decoded as 0 when the short form leaves it out). None elsewhere,
                    and on those packets in 3.1.1, which have no reason code.
    reason_codes    SUBACK: granted QoS or failure code per filter; UNSUBACK 5.0: one code per topic (list of
                    int; default None)
    subscriptions   SUBSCRIBE: list of (topic filter, options). Options decode as the QoS (int) in 3.1.1 and as
                    a dict {'qos', 'no_local', 'retain_as_published', 'retain_handling'} in 5.0; either form
                    encodes (missing dict keys are 0/False).
    topics          UNSUBSCRIBE: list of topic filters (str)
    properties      5.0 properties: dict of snake_case property name -> value (int, str, bytes);
                    user_property and subscription_identifier, which may repeat, are lists in wire order
                    (user properties as (name, value) pairs). Default {}; always {} in 3.1.1.

    The PUBLISH payload is not a field: the decoder returns it beside the packet and the encoder takes it as an
    argument, so a pipeline carries it as the message body.

    A decoded packet also remembers the bytes it arrived as, and the values its fields had then: while they still
    have those values, MqttEncoder writes the packet back byte for byte (see MqttEncoder). None of that is a field.
    """

    __slots__ = FIELDS + ('_wire',)

    def __init__(self, type=None, dup=False, qos=0, retain=False, packet_id=None, topic=None, protocol_name=None,
                 protocol_level=None, client_id=None, clean_start=False, keep_alive=None, username=None,
                 password=None, will_topic=None, will_payload=None, will_qos=0, will_retain=False,
                 will_properties=None, session_present=False, reason_code=None, reason_codes=None,
                 subscriptions=None, topics=None, properties=None):
        self.type = type
        self.dup = dup
        self.qos = qos
        self.retain = retain
        self.packet_id = packet_id
        self.topic = topic
        self.protocol_name = protocol_name
        self.protocol_level = protocol_level
        self.client_id = client_id
        self.clean_start = clean_start
        self.keep_alive = keep_alive
        self.username = username
        self.password = password
        self.will_topic = will_topic
        self.will_payload = will_payload
        self.will_qos = will_qos
        self.will_retain = will_retain
        self.will_properties = {} if will_properties is None else will_properties
        self.session_present = session_present
        self.reason_code = reason_code
        self.reason_codes = reason_codes
        self.subscriptions = subscriptions
        self.topics = topics
        self.properties = {} if properties is None else properties
        self._wire = None  # set by the decoder: (bytes, level, key getter, key when decoded, payload size)

    def as_dict(self):
        """The fields that differ from their defaults, as a dict: Packet(**d) is equal to this packet (but, built
        anew, is written in the shortest form: see MqttEncoder)."""
        return {name: getattr(self, name) for name in FIELDS if getattr(self, name) != _DEFAULTS[name]}

    def __repr__(self):
        return 'Packet(%s)' % ', '.join('%s=%r' % item for item in self.as_dict().items())

    def __eq__(self, other):
        if not isinstance(other, Packet):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in FIELDS)

    __hash__ = None  # mutable


_blank = Packet()
_DEFAULTS = {name: getattr(_blank, name) for name in FIELDS}
del _blank
