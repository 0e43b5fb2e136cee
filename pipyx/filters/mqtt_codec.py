"""decode_mqtt / encode_mqtt: MQTT 3.1.1 and 5.0 packets as messages."""
from .._native import PyDecode, PyEncode
from ..builder import PipelineBuilder


class MqttCodecMixin(PipelineBuilder):
    def decode_mqtt(self, *, max_packet_size=1 << 20):
        """Decodes MQTT packets from the stream's bytes: each packet is a message whose head is a pipyx.mqtt.Packet
        (head.type == 'PUBLISH', head.topic, head.qos, head.client_id, head.properties, ...) and whose body is a
        PUBLISH's payload. The protocol level (3.1.1 or 5.0) is learned from the CONNECT packet of the connection
        and shared with the encoder and the decoder of the other direction. A malformed packet, or one whose size
        is over max_packet_size, ends the stream with ProtocolError and a log line saying what was wrong."""
        from ..mqtt import MqttDecoder

        def factory(state):
            return MqttDecoder(state, max_packet_size)
        return self.append(PyDecode('decode_mqtt', factory))

    def encode_mqtt(self, *, max_packet_size=256 << 20):
        """Encodes messages whose head is a pipyx.mqtt.Packet (or a dict with its field names) and whose body is
        the PUBLISH payload back into MQTT bytes; Data outside a message passes through unchanged."""
        from ..mqtt import MqttEncoder

        def factory(state):
            return MqttEncoder(state)
        return self.append(PyEncode('encode_mqtt', factory, max_packet_size))
