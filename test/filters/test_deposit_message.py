"""deposit_message: a body past its threshold spooled to a file and passed on whole; the file removed; the limit."""
import asyncio
import hashlib
import json
import os
import socket
import threading

import pytest

from pipyx import Data, MessageEnd, MessageStart, StreamEnd
from pipyx.testing import layout, pipeline
from test.helpers import free_port, request, wait_for
from test.helpers.streams import ended, feed, summary, until


def run(build, events, done=ended):
    async def main():
        p, c = pipeline(build)
        feed(p, events)
        await until(done(c), timeout=5)
        return c.events
    return asyncio.run(main())


def test_a_small_body_passes_at_once(tmp_path):
    p, c = pipeline(lambda p: p.deposit_message(directory=str(tmp_path), threshold=100))
    feed(p, [MessageStart({'m': 1}), Data(b'small'), MessageEnd({'t': 1}), StreamEnd()])
    assert summary(c.events) == [('start', {'m': 1}), ('data', b'small'), ('end', {'t': 1}), ('stream_end', None)]
    assert os.listdir(tmp_path) == []


def test_a_big_body_is_spooled_then_passed_on_and_the_file_removed(tmp_path):
    body = os.urandom(300_000)
    seen_files = []

    def spooled(c):
        seen_files.extend(os.listdir(tmp_path))
        return ended(c)()

    pieces = [Data(body[i:i + 10_000]) for i in range(0, len(body), 10_000)]
    events = run(lambda p: p.deposit_message({'directory': str(tmp_path), 'threshold': 50_000}),
                 [MessageStart({'m': 1})] + pieces + [MessageEnd({'t': 1}), MessageStart({'m': 2}), Data(b'next'),
                                                      MessageEnd(), StreamEnd()],
                 done=lambda c: lambda: spooled(c))
    assert summary(events) == [('start', {'m': 1}), ('data', body), ('end', {'t': 1}),
                               ('start', {'m': 2}), ('data', b'next'), ('end', None), ('stream_end', None)]
    assert seen_files and os.listdir(tmp_path) == []


def test_until_the_message_ends_only_the_threshold_goes_out(tmp_path):
    p, c = pipeline(lambda p: p.deposit_message(str(tmp_path / 'spool'), threshold=4))
    feed(p, [MessageStart(), Data(b'abc'), Data(b'defg'), Data(b'hij')])
    assert summary(c.events) == [('start', None), ('data', b'abc')]
    assert (tmp_path / 'spool').read_bytes() == b'defghij'


def test_keep_leaves_the_file(tmp_path):
    path = tmp_path / 'kept'
    events = run(lambda p: p.deposit_message(str(path), threshold=0, keep=True),
                 [MessageStart(), Data(b'body'), MessageEnd(), StreamEnd()])
    assert summary(events) == [('start', None), ('data', b'body'), ('end', None), ('stream_end', None)]
    assert path.read_bytes() == b'body'


def test_a_spool_past_its_limit_ends_the_stream_and_removes_the_file(tmp_path):
    p, c = pipeline(lambda p: p.deposit_message(directory=str(tmp_path), threshold=2, max_size=10))
    feed(p, [MessageStart(), Data(b'ok'), Data(b'123456'), Data(b'7890'), Data(b'x'), MessageEnd(), StreamEnd()])
    assert summary(c.events) == [('start', None), ('data', b'ok'), ('stream_end', 'BufferOverflow')]
    assert os.listdir(tmp_path) == []


def test_a_stream_that_ends_early_removes_the_file(tmp_path):
    p, c = pipeline(lambda p: p.deposit_message(directory=str(tmp_path), threshold=0))
    feed(p, [MessageStart(), Data(b'partial')])
    assert len(os.listdir(tmp_path)) == 1
    feed(p, [StreamEnd('ConnectionReset')])
    assert os.listdir(tmp_path) == []
    assert summary(c.events)[-1] == ('stream_end', 'ConnectionReset')


def test_unknown_option_is_refused():
    with pytest.raises(TypeError):
        layout(lambda p: p.deposit_message({'treshold': 1}))


def test_an_upload_is_spooled_before_it_goes_upstream(run_pipyx, backend, tmp_path):
    # A proxy that holds each request body past 64 KiB on disk: the backend gets the whole body, byte for byte, and
    # the spool directory is empty afterwards.
    spool = tmp_path / 'spool'
    spool.mkdir()
    port = free_port()
    run_pipyx('''
        from pipyx import pipy
        pipy().listen(%d).demux_http().to(lambda p: p
            .deposit_message(threshold=65536, directory=%r)
            .mux_http().to(lambda p: p.connect('127.0.0.1:%d')))
    ''' % (port, str(spool), backend), port=port)
    body = os.urandom(5_000_000)
    status, headers, answer = request(port, '/sink', method='POST', body=body, timeout=20)
    assert status == 200
    assert json.loads(answer) == {'length': len(body), 'sha256': hashlib.sha256(body).hexdigest()}
    assert wait_for(lambda: os.listdir(spool) == [], timeout=5)


def test_messages_behind_a_spool_wait_and_their_connection_is_paused(run_pipyx, tmp_path):
    # One connection, many messages (lines), each spooled: the replies come back whole and in order.
    spool = tmp_path / 'spool'
    spool.mkdir()
    port = free_port()
    run_pipyx('''
        from pipyx import pipy
        pipy().listen(%d).split(b'\\n').deposit_message(threshold=4, directory=%r).pack(1, postfix=b'\\n')
    ''' % (port, str(spool)), port=port)
    lines = [os.urandom(20000).hex().encode() for _ in range(30)]
    wire = b''.join(x + b'\n' for x in lines)
    with socket.create_connection(('127.0.0.1', port), timeout=10) as s:
        sender = threading.Thread(target=lambda: (s.sendall(wire), s.shutdown(socket.SHUT_WR)), daemon=True)
        sender.start()
        got = b''
        while True:
            b = s.recv(1 << 20)
            if not b:
                break
            got += b
        sender.join(10)
    assert got.split(b'\n')[:len(lines)] == lines
    assert wait_for(lambda: os.listdir(spool) == [], timeout=5)
