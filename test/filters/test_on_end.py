"""on_end: a callback when the pipeline is shut down, once, whatever ended it; the events pass unchanged."""
import json
import socket
import struct

import pytest

from pipyx import Data, MessageEnd, MessageStart, StreamEnd
from pipyx.config import ScriptError
from pipyx.testing import pipeline
from test.helpers import ScriptOnPorts, get, wait_for
from test.helpers.streams import feed, summary

SCRIPT = '''
import json
from pipyx import pipy, Message

ended = []

def boom(d):
    raise ValueError('this stream fails')

pipy().listen('127.0.0.1:{p_echo}').on_end(lambda error: ended.append(['echo', error]))   # an echo
pipy().listen('127.0.0.1:{p_fail}').on_end(lambda error: ended.append(['fail', error])).handle_data(boom)
pipy().listen('127.0.0.1:{p_http}').on_end(lambda: ended.append(['connection', None])).demux_http().to(lambda p: p
    .on_end(lambda: ended.append(['request', None]))
    .replace_message(Message('hello')))
pipy().listen('127.0.0.1:{p_ended}').serve_http(lambda req: Message(json.dumps(ended)))
'''


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    s = ScriptOnPorts(tmp_path_factory.mktemp('on_end'), SCRIPT, ['p_echo', 'p_fail', 'p_http', 'p_ended'])
    yield s
    s.proc.stop()


def ended_since(server, before):
    status, body = get(server.p_ended)
    assert status == 200
    return json.loads(body)[before:]


def count(server):
    return len(ended_since(server, 0))


def wait_ended(server, before, n):
    wait_for(lambda: len(ended_since(server, before)) >= n, timeout=5, what='%d on_end calls' % n)
    return ended_since(server, before)


def test_on_end_runs_once_when_a_stream_ends_normally(server):
    before = count(server)
    with socket.create_connection(('127.0.0.1', server.p_echo), timeout=5) as s:
        s.sendall(b'ping')
        assert s.recv(100) == b'ping'
        assert ended_since(server, before) == []          # not while the connection lives
        s.shutdown(socket.SHUT_WR)
        assert s.recv(100) == b''
    assert wait_ended(server, before, 1) == [['echo', None]]
    assert ended_since(server, before) == [['echo', None]]


def test_on_end_runs_once_when_the_stream_ends_with_an_error(server):
    before = count(server)
    with socket.create_connection(('127.0.0.1', server.p_fail), timeout=5) as s:
        s.sendall(b'anything')
        assert s.recv(100) == b''                           # the error closed the connection
    assert [name for name, _ in wait_ended(server, before, 1)] == ['fail']
    assert len(ended_since(server, before)) == 1


def test_on_end_runs_when_the_client_resets(server):
    before = count(server)
    s = socket.create_connection(('127.0.0.1', server.p_echo), timeout=5)
    s.sendall(b'ping')
    assert s.recv(100) == b'ping'
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    s.close()                                               # RST
    assert wait_ended(server, before, 1) == [['echo', 'ConnectionReset']]


def test_on_end_runs_for_each_request_and_once_for_the_connection(server):
    before = count(server)
    with socket.create_connection(('127.0.0.1', server.p_http), timeout=5) as s:
        for _ in range(3):
            s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
            got = b''
            while not got.endswith(b'hello'):
                got += s.recv(1000)
        assert [n for n, _ in wait_ended(server, before, 3)] == ['request'] * 3
    assert [n for n, _ in wait_ended(server, before, 4)] == ['request'] * 3 + ['connection']


def test_events_pass_unchanged_and_the_callback_runs_on_close_only_once():
    calls = []
    p, c = pipeline(lambda p: p.on_end(lambda error: calls.append(error)))
    feed(p, [MessageStart({'n': 1}), Data(b'a'), MessageEnd(), Data(b'b'), StreamEnd('ReadTimeout')])
    assert summary(c.events) == [('start', {'n': 1}), ('data', b'a'), ('end', None), ('data', b'b'),
                                 ('stream_end', 'ReadTimeout')]
    assert calls == []
    p.close()
    p.close()
    assert calls == ['ReadTimeout']


def test_a_failing_callback_is_reported_and_changes_nothing(caplog):
    p, c = pipeline(lambda p: p.on_end(lambda: 1 / 0))
    feed(p, [Data(b'x')])
    p.close()
    assert summary(c.events) == [('data', b'x')]


def test_on_end_takes_a_callable_and_may_come_before_on_start():
    with pytest.raises(ScriptError, match='function'):
        pipeline(lambda p: p.on_end('not a function'))
    calls = []
    p, c = pipeline(lambda p: p.on_end(lambda: calls.append('end')).on_start(b'>'))
    feed(p, [Data(b'x')])
    p.close()
    assert summary(c.events) == [('data', b'>x')] and calls == ['end']
