"""exec: a stream through a child process; its exit status; a child that dies; a child killed with its pipeline."""
import asyncio
import os
import socket
import struct
import sys
import threading

from pipyx import Data, MessageStart, StreamEnd
from pipyx.testing import pipeline
from test.helpers import alive, free_port, wait_for
from test.helpers.streams import ended, feed, summary, until


def run(build, events, timeout=10):
    async def main():
        p, c = pipeline(build)
        feed(p, events)
        await until(ended(c), timeout=timeout)
        return c.events
    return asyncio.run(main())


def test_exec_pipes_the_stream_through_the_child():
    events = run(lambda p: p.exec('tr a-z A-Z'), [Data(b'hello '), Data(b'world'), StreamEnd()])
    assert summary(events) == [('data', b'HELLO WORLD'), ('stream_end', None)]


def test_exec_argv_without_a_shell_and_env():
    events = run(lambda p: p.exec([sys.executable, '-c', 'import os; print(os.environ["GREETING"], end="")'],
                                  env={'GREETING': 'hi $HOME'}),
                 [MessageStart()])
    assert summary(events) == [('data', b'hi $HOME'), ('stream_end', None)]


def test_exec_a_failing_child_ends_the_stream_with_an_error_and_its_status():
    statuses = []
    events = run(lambda p: p.exec('echo partial; exit 3', on_exit=lambda status: statuses.append(status)),
                 [MessageStart()])
    assert statuses == [3]
    assert summary(events) == [('data', b'partial\n'), ('stream_end', 'RuntimeError')]


def test_exec_a_child_that_dies_of_a_signal():
    statuses = []
    events = run(lambda p: p.exec('kill -9 $$', on_exit=statuses.append), [Data(b'x')])
    assert statuses == [-9]
    assert summary(events) == [('stream_end', 'RuntimeError')]


def test_exec_a_missing_program_ends_the_stream():
    events = run(lambda p: p.exec(['/nonexistent/program']), [Data(b'x'), StreamEnd()])
    assert summary(events) == [('stream_end', 'RuntimeError')]


def test_exec_stderr_captured_for_on_exit_and_its_events_go_out():
    got = []

    def done(status, err):
        got.append((status, err.to_bytes()))
        return [Data(b'[exit %d]' % status), StreamEnd()]

    events = run(lambda p: p.exec('echo out; echo oops >&2', stderr='capture', on_exit=done), [MessageStart()])
    assert got == [(0, b'oops\n')]
    assert summary(events) == [('data', b'out\n[exit 0]'), ('stream_end', None)]


def test_exec_stderr_merged_into_the_output():
    events = run(lambda p: p.exec('echo one; echo two >&2', stderr='output'), [MessageStart()])
    assert summary(events) == [('data', b'one\ntwo\n'), ('stream_end', None)]


def test_exec_child_is_killed_when_the_pipeline_goes_away():
    pids = []

    async def main():
        p, c = pipeline(lambda p: p.exec('sleep 60', on_start=pids.append))
        feed(p, [Data(b'x')])
        await until(lambda: pids, timeout=5)
        assert alive(pids[0])
        p.close()
        await until(lambda: not alive(pids[0]), timeout=5)
        return c.events

    assert asyncio.run(main()) == []


def test_exec_a_stream_end_with_an_error_kills_the_child():
    pids = []

    async def main():
        p, c = pipeline(lambda p: p.exec('cat; sleep 60', on_start=pids.append))
        feed(p, [Data(b'x')])
        await until(lambda: c.events, timeout=5)
        feed(p, [StreamEnd('ConnectionReset')])
        await until(ended(c), timeout=5)
        return c.events

    assert summary(asyncio.run(main())) == [('data', b'x'), ('stream_end', 'RuntimeError')]
    assert wait_for(lambda: not alive(pids[0]), timeout=5)


def test_exec_large_streams_both_ways():
    blob = os.urandom(3_000_000)
    events = run(lambda p: p.exec('cat'), [Data(blob[i:i + 100_000]) for i in range(0, len(blob), 100_000)]
                 + [StreamEnd()])
    assert b''.join(e.to_bytes() for e in events if isinstance(e, Data)) == blob
    assert summary(events)[-1] == ('stream_end', None)


def test_exec_serves_each_connection_its_own_child(run_pipyx, tmp_path):
    port = free_port()
    run_pipyx('''
        from pipyx import pipy
        pipy().listen(%d).exec('sed -u s/^/got:/')
    ''' % port, port=port)
    with socket.create_connection(('127.0.0.1', port), timeout=5) as s:
        s.sendall(b'one\n')
        got = b''
        while not got.endswith(b'\n'):
            got += s.recv(100)
        assert got == b'got:one\n'
        s.shutdown(socket.SHUT_WR)
        while True:
            b = s.recv(100)
            if not b:
                break
            got += b
    assert got == b'got:one\n'


def test_exec_child_dies_with_its_connection(run_pipyx, tmp_path):
    port = free_port()
    pidfile = tmp_path / 'pid'
    run_pipyx('''
        from pipyx import pipy
        def started(pid):
            with open(%r, 'w') as f:
                f.write(str(pid))
        pipy().listen(%d).exec('sleep 60', on_start=started)
    ''' % (str(pidfile), port), port=port)
    s = socket.create_connection(('127.0.0.1', port), timeout=5)
    s.sendall(b'x')
    assert wait_for(lambda: pidfile.exists() and pidfile.read_text(), timeout=5)
    pid = int(pidfile.read_text())
    assert alive(pid)
    # An abortive close (RST): the connection is gone at once, and its child with it.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    s.close()
    assert wait_for(lambda: not alive(pid), timeout=5), 'the child outlived its connection'


def test_exec_flow_control_end_to_end(run_pipyx):
    # More than the child's pipes and buffer_limit hold, sent at once: the connection is paused and resumed as the
    # child takes it, and everything comes back.
    port = free_port()
    run_pipyx('''
        from pipyx import pipy
        pipy().listen(%d).exec('cat', buffer_limit=1024)
    ''' % port, port=port)
    blob = os.urandom(4_000_000)
    with socket.create_connection(('127.0.0.1', port), timeout=10) as s:
        sender = threading.Thread(target=lambda: (s.sendall(blob), s.shutdown(socket.SHUT_WR)), daemon=True)
        sender.start()
        got = bytearray()
        while True:
            b = s.recv(1 << 20)
            if not b:
                break
            got += b
        sender.join(10)
    assert bytes(got) == blob


def test_exec_a_callable_giving_no_command_ends_the_stream():
    p, c = pipeline(lambda p: p.exec(lambda: None))
    feed(p, [Data(b'x'), StreamEnd()])
    assert summary(c.events) == [('stream_end', 'RuntimeError')]


def test_exec_in_a_task_with_its_output_teed_to_a_file(run_pipyx, tmp_path):
    # Pipy's `task().exec('ls -l')`: a job's input is only a StreamEnd, which starts the child with its stdin closed.
    out = tmp_path / 'out.txt'
    run_pipyx('''
        from pipyx import pipy
        pipy().task().exec('echo from a job; cat').tee(%r)
    ''' % str(out))
    assert wait_for(lambda: out.exists() and out.read_bytes() == b'from a job\n', timeout=10)


def test_exec_pty_gives_the_child_a_terminal():
    check = 'import os, sys; print(os.isatty(0), os.isatty(1), os.isatty(2), os.ttyname(0).startswith("/dev/")); ' \
            'open("/dev/tty").close(); print("controlling terminal")'
    events = run(lambda p: p.exec([sys.executable, '-c', check], pty=True), [Data(b'')])
    assert summary(events) == [('data', b'True True True True\r\ncontrolling terminal\r\n'), ('stream_end', None)]
    events = run(lambda p: p.exec([sys.executable, '-c', check]), [Data(b''), StreamEnd()])
    assert summary(events)[-1] == ('stream_end', 'RuntimeError')       # no terminal: /dev/tty cannot be opened


def test_exec_pty_input_is_a_terminal_line_and_the_stream_end_is_eof():
    # The terminal echoes what is typed; the child reads it line by line, and ^D ends its input.
    events = run(lambda p: p.exec([sys.executable, '-c', 'import sys; print("got", repr(sys.stdin.read()))'],
                                  pty=True),
                 [Data(b'one\n'), Data(b'two'), StreamEnd()])
    out = b''.join(e.to_bytes() for e in events if isinstance(e, Data))
    assert out.startswith(b'one\r\ntwo')
    assert out.endswith(b"got 'one\\ntwo'\r\n")
    assert summary(events)[-1] == ('stream_end', None)


def test_exec_pty_child_killed_with_its_pipeline():
    async def main():
        pids = []
        p, c = pipeline(lambda p: p.exec('sleep 30', pty=True, on_start=pids.append))
        feed(p, [Data(b'')])
        await until(lambda: pids, timeout=5)
        p.close()
        await until(lambda: not alive(pids[0]), timeout=5)
    asyncio.run(main())
