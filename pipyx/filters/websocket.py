"""decode_websocket and encode_websocket: WebSocket frames to messages and back; websocket_handshake answers the
opening request from a script."""
import base64
import hashlib

from .._native import DecodeWebSocket, EncodeWebSocket, Message, ResponseHead
from ..builder import PipelineBuilder

_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'     # RFC 6455, 1.3


def websocket_accept_key(key):
    """The Sec-WebSocket-Accept value that answers a Sec-WebSocket-Key."""
    return base64.b64encode(hashlib.sha1((key.strip() + _GUID).encode('latin-1')).digest()).decode('ascii')


def websocket_handshake(request, protocols=None):
    """The answer to a WebSocket opening request (a Message, as accept_http_tunnel's on_connect(request) gets it):
    101 Switching Protocols with its Sec-WebSocket-Accept, and the first of `protocols` the client offered as
    Sec-WebSocket-Protocol. A request that is not a WebSocket opening gets 400 (426 for a version other than 13).
    No extension is agreed: a client offering permessage-deflate goes on without it."""
    h = request.head
    headers = h.headers
    key = headers.get('sec-websocket-key')
    if h.method != 'GET' or str(headers.get('upgrade', '')).strip().lower() != 'websocket' or not key:
        return Message(ResponseHead(400), 'not a WebSocket opening request\n')
    try:
        if len(base64.b64decode(key.strip(), validate=True)) != 16:
            raise ValueError(key)
    except ValueError:
        return Message(ResponseHead(400), 'bad Sec-WebSocket-Key\n')
    if str(headers.get('sec-websocket-version', '')).strip() != '13':
        return Message(ResponseHead(426, {'sec-websocket-version': '13'}), 'WebSocket version 13 only\n')
    out = {'upgrade': 'websocket', 'connection': 'upgrade', 'sec-websocket-accept': websocket_accept_key(key)}
    if protocols:
        offered = [p.strip() for p in str(headers.get('sec-websocket-protocol', '')).split(',') if p.strip()]
        for p in protocols:
            if p in offered:
                out['sec-websocket-protocol'] = p
                break
    return Message(ResponseHead(101, out))


class WebSocketMixin(PipelineBuilder):
    def decode_websocket(self, *, max_message_size=1 << 20, masked=None):
        """Reads WebSocket frames from the stream's Data and outputs one message per WebSocket message: its head a
        WebSocketHead (opcode: 1 text, 2 binary, 8 close, 9 ping, 10 pong; masked; for a close close_code and
        close_reason), its body the payload. Fragments are joined into one message; ping, pong and close frames,
        also between fragments, are messages of their own.

        masked: True when reading a client (a server's side: an unmasked frame is a protocol error), False when
        reading a server, None to take either. max_message_size bounds a message, its fragments together (0: no
        limit). A message over it ends the stream after a close 1009 message, a protocol error after a close 1002;
        that close goes down the pipeline like any message, so an encode_websocket after it sends it to the peer.
        """
        return self.append(DecodeWebSocket(int(max_message_size or 0), masked))

    def encode_websocket(self, *, masked=None, fragment_size=0):
        """Writes each message as a WebSocket message. The head gives opcode and masked (a WebSocketHead, or a dict
        such as {'opcode': 1}; no head: binary, unmasked); masked=True masks every frame (a client's side), False
        none. A close message with close_code (and close_reason) and no body gets them as its payload. A body
        longer than fragment_size bytes goes in several frames, the first with the opcode and the rest
        continuations (0: one frame)."""
        return self.append(EncodeWebSocket(masked, int(fragment_size or 0)))
