"""decode_resp / encode_resp: Redis RESP2 and RESP3 frames as messages."""
from .._native import DecodeRESP, EncodeRESP, RespLimits
from ..builder import PipelineBuilder
from ..errors import ScriptError, caller_location
from .demux import count_option


class RespCodecMixin(PipelineBuilder):
    def decode_resp(self, *, inline=True, max_bulk_length=512 << 20, max_array_length=1 << 24, max_depth=32,
                    max_inline_length=64 << 10, max_message_size=512 << 20):
        """Decodes RESP (Redis's protocol, RESP2 and RESP3) from the stream's bytes: each frame (a command, or a
        reply) is a message whose head is a pipyx.resp.RespHead and whose body is the frame's own bytes.
        head.command ('GET') and head.args ([b'key']) read a command, head.type ('bulk', 'error', 'map', ...) and
        head.value a reply; they are parsed from the frame when first read.

        inline: a frame not starting with a RESP type byte is an inline (telnet-style) command, one line split at
        spaces, as redis-server reads them; give False for the replies of a server. Limits, each ending the stream
        when passed: max_bulk_length (bytes of one bulk string), max_array_length (elements of one array, map, set
        or push), max_depth (aggregates inside each other), max_inline_length (an inline command, or any one
        line), max_message_size (a whole frame). Input that breaks the protocol (a bad length, a garbage type
        byte, a frame cut short by the stream's end) ends the stream with ProtocolError after the frames before
        it, with one log line; encode_resp on the way back answers it as redis-server does
        ('-ERR Protocol error: ...')."""
        for name, value in (('max_bulk_length', max_bulk_length), ('max_array_length', max_array_length),
                            ('max_inline_length', max_inline_length), ('max_message_size', max_message_size)):
            if count_option('decode_resp', name, value) == 0:
                raise ScriptError('decode_resp(): %s is a count of 1 or more, not 0' % name, *caller_location())
        if isinstance(max_depth, bool) or not isinstance(max_depth, int) or not 1 <= max_depth <= 128:
            raise ScriptError('decode_resp(): max_depth is from 1 to 128, not %r' % (max_depth,), *caller_location())
        limits = RespLimits(max_bulk_length, max_array_length, max_depth, max_inline_length, max_message_size,
                            bool(inline))
        return self.append(DecodeRESP(limits))

    def encode_resp(self):
        """Encodes messages as RESP. A message whose head is a RespHead nobody changed, or that has no head, goes
        out as its body: the frame's bytes as they came. A RespHead whose command, args or value a script set is
        written from them; any other head is a value to write: RespError('ERR no such key') an error reply, str a
        simple string, bytes a bulk string, int an integer, None a null, list an array, dict a map, and
        pipyx.resp's RespSet, RespPush, RespVerbatim, RespBigNumber, float and bool their RESP3 types. A stream
        that decode_resp ended for breaking the protocol first gets redis-server's error reply,
        '-ERR Protocol error: ...'."""
        return self.append(EncodeRESP())
