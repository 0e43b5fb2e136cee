"""MQTT 3.1, 3.1.1 and 5.0 codec, sans-I/O: bytes in, packets out, and back.

    state = {}                                  # shared by both directions of one connection
    decoder = MqttDecoder(state)
    for head, payload in decoder.feed(data):    # payload: PUBLISH's message (bytes), else None
        ...
    data = MqttEncoder(state).encode(Packet('PUBLISH', qos=1, packet_id=7, topic='a/b'), b'hello')

Packet documents every field; PACKET_TYPES maps the packet names ('CONNECT' ... 'AUTH') to their type codes and
PROPERTY_TABLE lists the v5 properties (id -> snake_case name, value type, packets allowed in). The filters
decode_mqtt() and encode_mqtt() wrap the decoder and the encoder for pipelines.

A decoded packet that nothing changed encodes to the very bytes it was decoded from, whatever form of it the spec
allowed the sender to choose; a changed or new packet is written in the shortest form (see MqttEncoder).
"""
from .decode import MqttDecoder
from .encode import MqttEncoder
from .packet import (DEFAULT_MAX_PACKET_SIZE, MAX_PACKET_ID, MAX_REMAINING_LENGTH, MAX_STRING_LENGTH, PACKET_TYPES,
                     PROPERTY_IDS, PROPERTY_TABLE, SUBSCRIPTION_OPTIONS, MqttError, Packet)

__all__ = ['Packet', 'MqttError', 'MqttDecoder', 'MqttEncoder', 'PACKET_TYPES', 'PROPERTY_IDS', 'PROPERTY_TABLE',
           'SUBSCRIPTION_OPTIONS', 'DEFAULT_MAX_PACKET_SIZE', 'MAX_PACKET_ID', 'MAX_REMAINING_LENGTH',
           'MAX_STRING_LENGTH']
