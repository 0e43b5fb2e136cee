"""read: a file as the stream's output."""
import asyncio
import os
import socket
import subprocess
import sys

from pipyx import Data, MessageStart, StreamEnd
from pipyx.testing import pipeline
from test.helpers import ROOT, free_port, stop_process, wait_for, wait_port
from test.helpers.streams import ended, feed, summary, until


def run(build, events=(MessageStart(),)):
    async def main():
        p, c = pipeline(build)
        feed(p, list(events))
        await until(ended(c), timeout=5)
        return c.events
    return asyncio.run(main())


def test_read_outputs_the_file_in_pieces_then_ends(tmp_path):
    path = tmp_path / 'f.bin'
    content = os.urandom(200_000)
    path.write_bytes(content)
    events = run(lambda p: p.read(str(path), piece_size=65536))
    datas = [e for e in events if isinstance(e, Data)]
    assert b''.join(d.to_bytes() for d in datas) == content
    assert max(len(d) for d in datas) <= 65536 and len(datas) == 4
    assert summary(events)[-1] == ('stream_end', None)


def test_read_path_from_a_callable_and_input_dropped(tmp_path):
    (tmp_path / 'a.txt').write_bytes(b'from a')
    events = run(lambda p: p.read(lambda: str(tmp_path / 'a.txt')),
                 [Data(b'ignored'), Data(b'also'), StreamEnd()])
    assert summary(events) == [('data', b'from a'), ('stream_end', None)]


def test_read_an_empty_file_just_ends(tmp_path):
    (tmp_path / 'empty').write_bytes(b'')
    assert summary(run(lambda p: p.read(str(tmp_path / 'empty')))) == [('stream_end', None)]


def test_read_a_missing_file_ends_the_stream_with_read_error(tmp_path):
    p, c = pipeline(lambda p: p.read(str(tmp_path / 'missing')))
    feed(p, [MessageStart()])
    assert summary(c.events) == [('stream_end', 'ReadError')]


def test_read_serves_a_file_to_each_connection(run_pipyx, tmp_path):
    content = os.urandom(1_000_000)
    (tmp_path / 'big').write_bytes(content)
    port = free_port()
    run_pipyx('''
        from pipyx import pipy
        pipy().listen(%d).read(%r)
    ''' % (port, str(tmp_path / 'big')), port=port)
    with socket.create_connection(('127.0.0.1', port), timeout=10) as s:
        s.sendall(b'go')
        got = b''
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
    assert got == content


def test_read_standard_input_as_it_comes_without_blocking_the_loop(tmp_path):
    # pipyx's stdin is a pipe the test writes to slowly; meanwhile another port keeps answering.
    port, other = free_port(), free_port()
    script = tmp_path / 'main.py'
    script.write_text('from pipyx import pipy\n'
                      'pipy().listen(%d).read("-")\n'
                      'pipy().listen(%d).replace_data(lambda d: d)\n' % (port, other))
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    proc = subprocess.Popen([sys.executable, '-m', 'pipyx', str(script)], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=str(tmp_path))
    try:
        assert wait_port(port, proc=proc) and wait_port(other, proc=proc)
        with socket.create_connection(('127.0.0.1', port), timeout=10) as s:
            s.sendall(b'go')
            proc.stdin.write(b'first ')
            proc.stdin.flush()
            got = b''
            while got != b'first ':
                got += s.recv(100)
            with socket.create_connection(('127.0.0.1', other), timeout=5) as echo:
                echo.sendall(b'ping')
                assert echo.recv(10) == b'ping'          # the loop is not stuck in a read of stdin
            proc.stdin.write(b'second')
            proc.stdin.close()
            while True:
                b = s.recv(100)
                if not b:
                    break
                got += b
        assert got == b'first second'
    finally:
        stop_process(proc)


def test_read_a_span_of_the_file(tmp_path):
    (tmp_path / 'f').write_bytes(b'0123456789')
    assert summary(run(lambda p: p.read(str(tmp_path / 'f'), seek=3, size=4, piece_size=3))) == [
        ('data', b'3456'), ('stream_end', None)]
    assert summary(run(lambda p: p.read(str(tmp_path / 'f'), seek=lambda: 8))) == [('data', b'89'),
                                                                                   ('stream_end', None)]


def test_read_in_a_task(run_pipyx, tmp_path):
    (tmp_path / 'in.txt').write_bytes(b'copied by a job')
    out = tmp_path / 'out.txt'
    run_pipyx('''
        from pipyx import pipy
        pipy().task().read(%r).tee(%r)
    ''' % (str(tmp_path / 'in.txt'), str(out)))
    assert wait_for(lambda: out.exists() and out.read_bytes() == b'copied by a job', timeout=10)
