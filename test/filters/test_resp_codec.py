"""decode_resp and encode_resp in a running pipyx: a script that answers commands itself, a relay that passes frames
byte for byte, a changed head written anew, and the options checked where the script gives them."""
import socket

import pytest

from test.helpers import free_port, wait_for

SERVER = '''
from pipyx import Message, pipy
from pipyx.resp import RespError, resp_encode

store = {{}}

def answer(m):
    h = m.head
    if h.command == 'SET':
        store[h.args[0]] = h.args[1]
        return Message(resp_encode('OK'))
    if h.command == 'GET':
        return Message(resp_encode(store.get(h.key)))
    if h.command == 'HELLO':
        return Message(resp_encode({{'server': 'pipyx', 'proto': 3}}))
    return Message(resp_encode(RespError('ERR unknown command %r' % h.command)))

pipy().listen({port}).decode_resp(max_bulk_length=1000).demux().to(lambda p: p.replace_message(answer)).encode_resp()
'''

RELAY = '''
from pipyx import pipy

def rename(start):
    if start.head.command == 'GET' and start.head.key == b'old':
        start.head.args = [b'new']

pipy().listen({port}).decode_resp().handle_message_start(rename).encode_resp().connect('127.0.0.1:{upstream}')
'''


def exchange(port, data, until=None, half_close=False):
    with socket.create_connection(('127.0.0.1', port), timeout=5) as s:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        got = b''
        while until is None or not got.endswith(until):
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        return got


def test_a_script_answers_commands_and_inline_commands(run_pipyx):
    port = free_port()
    run_pipyx(SERVER.format(port=port), port)
    wire = b'*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nv1\r\nGET k\r\n*2\r\n$3\r\nGET\r\n$4\r\nnone\r\n*1\r\n$4\r\nPING\r\n'
    assert exchange(port, wire, b"'PING'\r\n") == b"+OK\r\n$2\r\nv1\r\n$-1\r\n-ERR unknown command 'PING'\r\n"
    assert exchange(port, b'HELLO 3\r\n', b'\r\n:3\r\n') == b'%2\r\n+server\r\n+pipyx\r\n+proto\r\n:3\r\n'


def test_a_bulk_over_max_bulk_length_gets_the_error_reply_and_one_log_line(run_pipyx):
    port = free_port()
    proc = run_pipyx(SERVER.format(port=port), port)
    assert exchange(port, b'*2\r\n$3\r\nGET\r\n$1001\r\n') == b'-ERR Protocol error: invalid bulk length\r\n'
    assert (exchange(port, b'*2\r\n$3\r\nGET\r\n$1\r\n', half_close=True)
            == b'-ERR Protocol error: a frame cut short by the end of the stream\r\n')
    log = wait_for(lambda: proc.log() if proc.log().count('decode_resp') >= 2 else None)
    assert log and log.count('invalid bulk length') == 1 and 'cut short' in log


def test_frames_pass_byte_for_byte_unless_a_script_changes_them(run_pipyx):
    seen = []
    upstream = socket.socket()
    upstream.bind(('127.0.0.1', 0))
    upstream.listen()
    upstream.settimeout(5)
    port = free_port()
    run_pipyx(RELAY.format(port=port, upstream=upstream.getsockname()[1]), port)
    wire = b'*2\r\n$3\r\nGET\r\n$3\r\nold\r\n*2\r\n$3\r\nget\r\n$1\r\nx\r\nPING  \r\n'
    with socket.create_connection(('127.0.0.1', port), timeout=5) as c:
        c.sendall(wire)
        conn, _ = upstream.accept()
        with conn:
            conn.settimeout(5)
            expected = b'*2\r\n$3\r\nGET\r\n$3\r\nnew\r\n*2\r\n$3\r\nget\r\n$1\r\nx\r\nPING  \r\n'
            while len(b''.join(seen)) < len(expected):
                seen.append(conn.recv(65536))
    upstream.close()
    assert b''.join(seen) == expected


@pytest.mark.parametrize('option', ['max_depth=0', 'max_bulk_length=0', 'max_array_length=-1', "max_depth='x'"])
def test_bad_options_are_reported_with_the_script_line(run_pipyx, option):
    port = free_port()
    proc = run_pipyx('from pipyx import pipy\npipy().listen(%d).decode_resp(%s)\n' % (port, option))
    assert proc.wait(15) != 0
    assert 'decode_resp()' in proc.log() and ':2' in proc.log()
