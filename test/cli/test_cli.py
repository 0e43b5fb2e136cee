"""The pipyx command, driven as a real process: options, what it runs, --verify, and errors while serving.

Every check talks to pipyx over real sockets on 127.0.0.1 and every wait has a deadline.
"""
import re
import shutil
import socket
import struct
import subprocess
import time

import pytest

import pipyx
from test.cli.support import HELLO, assert_no_internals, run_cli, write_script
from test.helpers import RawClient, free_port, get, wait_for


# -- 1. options ------------------------------------------------------------------------------------------------------

def test_version_is_printed():
    r = run_cli(['--version'])
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == 'pipyx %s' % pipyx.__version__


def test_console_script_on_path_prints_version():
    exe = shutil.which('pipyx')
    if exe is None:
        pytest.skip('the pipyx console script is not on PATH (package not installed)')
    r = subprocess.run([exe, '--version'], capture_output=True, text=True, timeout=15)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == 'pipyx %s' % pipyx.__version__


def test_help_lists_the_options():
    r = run_cli(['--help'])
    assert r.returncode == 0, r.stderr
    for option in ('--eval', '-e', '--workers', '--log-level', '--verify', '--drain-timeout', '--version',
                   'script'):
        assert option in r.stdout, option
    assert 'SIGHUP' in r.stdout and 'SIGTERM' in r.stdout


def test_no_script_means_the_repo_server_which_wants_a_token():
    # With no script pipyx is the repo server; on 0.0.0.0 it will not start without a token, and says how to run a
    # script instead.
    r = run_cli([], env={'PIPYX_REPO_TOKEN': ''})
    assert r.returncode != 0
    assert 'token' in r.stderr
    assert 'pipyx --help' in r.stderr
    assert r.stdout == ''


def test_options_without_a_script_print_usage():
    r = run_cli(['--workers', '2'])
    assert r.returncode != 0
    assert 'usage: pipyx' in r.stderr and '-e' in r.stderr


def test_missing_script_file_is_a_clear_error(tmp_path):
    r = run_cli([str(tmp_path / 'nope.py')])
    assert r.returncode != 0
    assert 'nope.py' in r.stderr and 'no such script' in r.stderr
    assert 'Traceback' not in r.stderr


# -- 2. what to run --------------------------------------------------------------------------------------------------

def test_directory_runs_its_main_py(tmp_path, run_pipyx):
    port = free_port()
    d = tmp_path / 'app'
    d.mkdir()
    write_script(d / 'main.py', """
        from pipyx import pipy, Message
        pipy().listen('127.0.0.1:{port}').serve_http(Message('from-dir-main'))
    """.replace('{port}', str(port)))
    write_script(d / 'other.py', 'raise SystemExit("other.py must not run")\n')
    run_pipyx(path=d, port=port)
    assert get(port) == (200, 'from-dir-main')


def test_eval_has_pipy_and_message_in_scope(run_pipyx):
    port = free_port()
    p = run_pipyx(args=['-e', "pipy().listen('127.0.0.1:%d').serve_http(lambda req: Message('e:' + req.head.path))"
                        % port], port=port)
    assert get(port, '/abc') == (200, 'e:/abc')
    assert p.proc.poll() is None


def test_eval_error_is_reported_against_the_expression():
    r = run_cli(['-e', "pipy().listen('127.0.0.1:1').serve_http(nothing_here)", '--verify'])
    assert r.returncode != 0
    assert re.search(r"<expression>:1: NameError: name 'nothing_here' is not defined", r.stderr), r.stderr
    assert_no_internals(r.stderr)
    r = run_cli(['-e', 'pipy(', '--verify'])
    assert r.returncode != 0
    assert '<expression>:1: SyntaxError' in r.stderr, r.stderr


def test_handler_sees_request_path_and_body(run_pipyx):
    port = free_port()
    run_pipyx("""
        from pipyx import pipy, Message
        pipy().listen('127.0.0.1:%d').serve_http(lambda req: Message(req.head.path + '|' + req.body.to_str()))
    """ % port, port=port)
    c = RawClient(port)
    try:
        c.send(b'POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello')
        r = c.read_response()
        assert (r.status, r.text) == (200, '/p|hello')
    finally:
        c.close()


# -- 3. --verify -----------------------------------------------------------------------------------------------------

def verify(tmp_path, text, *extra):
    path = write_script(tmp_path / 'main.py', text)
    return run_cli([str(path), '--verify'] + list(extra), cwd=str(tmp_path))


def test_verify_good_script(tmp_path):
    r = verify(tmp_path, HELLO.replace('{port}', '1'))
    assert r.returncode == 0, r.stderr
    assert 'OK' in r.stdout and 'main.py' in r.stdout
    assert 'error' not in r.stderr.lower()


def test_verify_does_not_listen(tmp_path):
    # --verify loads the script and exits: it must not bind the port it names.
    port = free_port()
    holder = socket.socket()
    holder.bind(('127.0.0.1', port))          # bound, not listening: a bind by pipyx would fail
    try:
        r = verify(tmp_path, HELLO.replace('{port}', str(port)))
    finally:
        holder.close()
    assert r.returncode == 0, r.stderr


def test_verify_syntax_error_names_file_and_line(tmp_path):
    r = verify(tmp_path, """
        from pipyx import pipy, Message

        x = = 1
        pipy().listen('127.0.0.1:1').serve_http(Message('x'))
    """)
    assert r.returncode != 0
    assert re.search(r'main\.py:3: SyntaxError: invalid syntax', r.stderr), r.stderr
    assert_no_internals(r.stderr)
    assert 'OK' not in r.stdout


def test_verify_name_error_names_script_line_without_traceback(tmp_path):
    r = verify(tmp_path, """
        from pipyx import pipy, Message

        pipy().listen('127.0.0.1:1').serve_http(undefined_handler)
    """)
    assert r.returncode != 0
    assert re.search(r"main\.py:3: NameError: name 'undefined_handler' is not defined", r.stderr), r.stderr
    assert_no_internals(r.stderr)


def test_verify_error_inside_a_script_function_points_at_that_line(tmp_path):
    r = verify(tmp_path, """
        from pipyx import pipy, Message

        def build(p):
            return p.serve_http(no_such_name)

        build(pipy().listen('127.0.0.1:1'))
    """)
    assert r.returncode != 0
    assert re.search(r"main\.py:4: NameError: name 'no_such_name' is not defined", r.stderr), r.stderr
    assert_no_internals(r.stderr)


def test_verify_debug_log_level_adds_the_traceback(tmp_path):
    r = verify(tmp_path, """
        from pipyx import pipy, Message

        pipy().listen('127.0.0.1:1').serve_http(undefined_handler)
    """, '--log-level', 'debug')
    assert r.returncode != 0
    assert re.search(r"main\.py:3: NameError", r.stderr), r.stderr
    assert 'Traceback' in r.stderr


def test_verify_link_to_missing_pipeline(tmp_path):
    r = verify(tmp_path, """
        from pipyx import pipy, Message

        (pipy()
            .pipeline('present').serve_http(Message('x'))
            .listen('127.0.0.1:1')
            .link('nonexistent'))
    """)
    assert r.returncode != 0
    assert "'nonexistent'" in r.stderr, r.stderr
    assert re.search(r'main\.py:6: ', r.stderr), r.stderr
    assert_no_internals(r.stderr)


def test_verify_script_that_listens_on_nothing(tmp_path):
    r = verify(tmp_path, """
        from pipyx import pipy, Message

        pipy().pipeline('lonely').serve_http(Message('x'))
    """)
    assert r.returncode != 0
    assert 'main.py' in r.stderr and 'listens on no port' in r.stderr, r.stderr
    # The error has no line to point at: it must not print a made-up one.
    assert ':None' not in r.stderr, r.stderr
    assert_no_internals(r.stderr)


def test_load_error_without_verify_fails_fast(tmp_path):
    path = write_script(tmp_path / 'main.py', """
        from pipyx import pipy, Message
        raise RuntimeError('refusing to start')
    """)
    r = run_cli([str(path)], cwd=str(tmp_path))
    assert r.returncode != 0
    assert re.search(r'main\.py:2: RuntimeError: refusing to start', r.stderr), r.stderr
    assert_no_internals(r.stderr)


def test_port_in_use_is_a_clear_error(tmp_path):
    port = free_port()
    holder = socket.socket()
    holder.bind(('127.0.0.1', port))
    holder.listen()
    try:
        path = write_script(tmp_path / 'main.py', HELLO.replace('{port}', str(port)))
        r = run_cli([str(path)], cwd=str(tmp_path))
    finally:
        holder.close()
    assert r.returncode != 0
    assert str(port) in r.stderr and 'error' in r.stderr.lower(), r.stderr
    assert 'Traceback' not in r.stderr, r.stderr


# -- 4. errors while serving -----------------------------------------------------------------------------------------

RAISING = """
import asyncio
from pipyx import pipy, Message

async def later(req):
    await asyncio.sleep(0.01)
    raise KeyError('async-boom')

def handle(req):
    if req.head.path == '/boom':
        raise ValueError('boom-123')
    if req.head.path == '/async-boom':
        return later(req)
    return Message('fine')

pipy().listen('127.0.0.1:{port}').serve_http(handle)
""".lstrip('\n')


def test_handler_exception_answers_500_and_logs_script_line(run_pipyx):
    port = free_port()
    p = run_pipyx(RAISING.replace('{port}', str(port)), port=port)
    assert get(port, '/boom')[0] == 500
    assert get(port, '/')[0:2] == (200, 'fine')
    assert get(port, '/async-boom')[0] == 500
    # Other connections are still served, including one that was open all along.
    c = RawClient(port)
    try:
        assert c.get('/') == (200, 'fine')
        assert get(port, '/boom')[0] == 500
        assert c.get('/') == (200, 'fine')
    finally:
        c.close()
    assert p.proc.poll() is None
    log = wait_for(lambda: 'async-boom' in p.log() and p.log(), 3)
    assert re.search(r'main-0\.py:10: ValueError: boom-123', log), log
    assert re.search(r"main-0\.py:6: KeyError: 'async-boom'", log), log
    assert 'Traceback' not in log, log


def test_debug_log_level_logs_the_handler_traceback(run_pipyx):
    port = free_port()
    p = run_pipyx(RAISING.replace('{port}', str(port)), port=port, args=['--log-level', 'debug'])
    assert get(port, '/boom')[0] == 500
    log = wait_for(lambda: 'Traceback' in p.log() and p.log(), 3)
    assert log and re.search(r'main-0\.py:10: ValueError: boom-123', log), p.log()


def test_connection_dropped_while_async_handler_pending_keeps_process_alive(run_pipyx):
    # The client goes while the handler still sleeps; the late answer has nowhere to go and must be dropped, not
    # crash the worker.
    port = free_port()
    p = run_pipyx("""
        import asyncio
        from pipyx import pipy, Message

        async def handle(req):
            if req.head.path == '/slow':
                await asyncio.sleep(0.6)
            return Message('ok')

        pipy().listen('127.0.0.1:%d').serve_http(handle)
    """ % port, port=port)
    with RawClient(port) as c:
        c.send(b'GET /slow HTTP/1.1\r\nHost: x\r\n\r\n')
        time.sleep(0.2)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))     # reset, not FIN
    time.sleep(0.7)                                      # the handler finishes after its connection is gone
    assert p.proc.poll() is None, 'pipyx died (rc %s):\n%s' % (p.proc.returncode, p.log())
    assert get(port, '/') == (200, 'ok')


def test_pipyx_without_a_script_passes_every_repo_server_option_on():
    # `pipyx --listen ... --linger-time 1` runs the repo server: each option that takes a value must be known as one,
    # or its value would be taken for a script.
    import argparse
    from pipyx.cli import REPO_SERVER_FLAGS, REPO_SERVER_VALUE_OPTIONS
    from pipyx.repo.server import parse_args
    parser, _ = parse_args([])
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        for name in action.option_strings:
            known = REPO_SERVER_FLAGS if action.nargs == 0 else REPO_SERVER_VALUE_OPTIONS
            assert name in known, name
