"""decode_websocket and encode_websocket serving WebSocket from a script (accept_http_tunnel with
websocket_handshake), against the `websockets` client: text, binary, fragments joined, ping answered, close codes,
a message over the limit (1009), an unmasked client frame (1002), and permessage-deflate offered but not agreed."""
import base64
import os
import socket
import struct

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from pipyx import websocket_accept_key
from test.helpers import free_port, req

ECHO = '''
from pipyx import pipy, websocket_handshake, Message, StreamEnd

def answer(msg):
    op = msg.head.opcode
    if op == 9:
        return Message({'opcode': 10}, msg.body)                # ping: pong
    if op == 10:
        return None
    if op == 8:
        return [Message({'opcode': 8}, msg.body), StreamEnd()]  # close: the same code back, then hang up
    return Message({'opcode': op}, msg.body)

pipy().listen(%(port)d).demux_http().to(
    lambda p: p.accept_http_tunnel(websocket_handshake).to(
        lambda p: p.decode_websocket(masked=True, max_message_size=1000).replace_message(answer).encode_websocket()))
'''


@pytest.fixture
def server(run_pipyx):
    port = free_port()
    proc = run_pipyx(ECHO % {'port': port}, port=port)
    proc.port = port
    return proc


def test_echo_text_binary_fragments_and_ping(server):
    with ws_connect('ws://127.0.0.1:%d/' % server.port, open_timeout=5, close_timeout=5) as ws:
        ws.send('hello')
        assert ws.recv(5) == 'hello'
        ws.send(bytes(range(256)))
        assert ws.recv(5) == bytes(range(256))
        ws.send(['one ', 'message ', 'in parts'])
        assert ws.recv(5) == 'one message in parts'
        assert ws.ping(b'p1').wait(5)
        # the server agreed to no extension: permessage-deflate, which the client offered, is off
        assert 'permessage-deflate' in ws.request.headers.get('Sec-WebSocket-Extensions', '')
        assert ws.response.headers.get('Sec-WebSocket-Extensions') is None


def test_close_code_is_echoed(server):
    ws = ws_connect('ws://127.0.0.1:%d/' % server.port, open_timeout=5, close_timeout=5)
    ws.close(4002, 'done here')
    assert ws.close_code == 4002 and ws.close_reason == 'done here'


def test_message_over_the_limit_gets_1009(server):
    with ws_connect('ws://127.0.0.1:%d/' % server.port, open_timeout=5, close_timeout=5) as ws:
        ws.send('x' * 1001)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(5)
    assert closed.value.rcvd.code == 1009
    assert 'closing with 1009' in server.log()


def raw_open(port):
    key = base64.b64encode(os.urandom(16)).decode()
    s = socket.create_connection(('127.0.0.1', port), timeout=5)
    s.sendall(req('/', headers=[('Upgrade', 'websocket'), ('Connection', 'Upgrade'), ('Sec-WebSocket-Key', key),
                                ('Sec-WebSocket-Version', '13')]))
    head = b''
    while b'\r\n\r\n' not in head:
        head += s.recv(4096)
    head, rest = head.split(b'\r\n\r\n', 1)
    assert head.startswith(b'HTTP/1.1 101 ')
    assert b'sec-websocket-accept: ' + websocket_accept_key(key).encode() in head
    return s, rest


def read_all(s):
    out = b''
    while True:
        try:
            b = s.recv(4096)
        except OSError:
            break
        if not b:
            break
        out += b
    return out


def test_unmasked_client_frame_gets_1002_and_the_connection_closes(server):
    s, rest = raw_open(server.port)
    s.sendall(b'\x81\x02hi')                                   # a text frame without a mask
    out = rest + read_all(s)
    s.close()
    assert out[:2] == b'\x88' + bytes([len(out) - 2]) and struct.unpack('>H', out[2:4])[0] == 1002


def test_not_a_websocket_request_is_refused_plainly(server):
    s = socket.create_connection(('127.0.0.1', server.port), timeout=5)
    s.sendall(req('/', headers=[('Upgrade', 'websocket'), ('Connection', 'Upgrade')]))
    out = s.recv(4096)
    s.close()
    assert out.startswith(b'HTTP/1.1 400 ')
