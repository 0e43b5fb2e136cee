# A WebSocket echo served by a script, with a page to try it: `pipyx samples/websocket/main.py`, then open
# http://localhost:8080/. PORT and MAX_MESSAGE_SIZE come from the environment (README.md).
import os

from pipyx import Message, ResponseHead, StreamEnd, pipy, websocket_handshake

here = os.path.dirname(os.path.abspath(__file__))
env = os.environ.get
with open(os.path.join(here, 'index.html'), 'rb') as f:
    PAGE = f.read()


def open_or_page(request):
    # /echo opens a WebSocket (101); any other answer is a plain HTTP response.
    path = request.head.path.split('?')[0]
    if path == '/echo':
        return websocket_handshake(request)
    if path == '/':
        return Message(ResponseHead(200, {'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache'}),
                       PAGE)
    return Message(ResponseHead(404), 'not found\n')


def echo(msg):
    op = msg.head.opcode
    if op == 9:
        return Message({'opcode': 10}, msg.body)                 # ping: pong with the same payload
    if op == 10:
        return None                                              # a pong nobody asked for: dropped
    if op == 8:
        return [Message({'opcode': 8}, msg.body), StreamEnd()]   # close: the same code back, then hang up
    return Message({'opcode': op}, msg.body)                     # text or binary: back as it came


pipy().listen(int(env('PORT', '8080'))).demux_http().to(
    lambda p: p.accept_http_tunnel(open_or_page).to(
        lambda p: p.decode_websocket(masked=True, max_message_size=int(env('MAX_MESSAGE_SIZE', str(64 * 1024))))
                   .replace_message(echo)
                   .encode_websocket()))
