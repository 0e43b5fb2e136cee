"""What the CLI tests share: running pipyx to completion, error reports, and the processes under a pid."""
import os
import subprocess
import sys
import textwrap
import threading

import pipyx
from test.helpers import ROOT

PACKAGE_DIR = os.path.dirname(os.path.abspath(pipyx.__file__))


# -- helpers ---------------------------------------------------------------------------------------------------------

def run_cli(args, cwd=None, timeout=15, env=None):
    """Runs `python -m pipyx ARGS` to completion; returns the CompletedProcess (text stdout and stderr)."""
    env = dict(os.environ, **(env or {}))
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    return subprocess.run([sys.executable, '-m', 'pipyx'] + list(args), cwd=cwd or ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def write_script(path, text):
    path.write_text(textwrap.dedent(text).lstrip('\n'))
    return path


def assert_no_internals(stderr):
    """An error report for a script's author: no traceback, nothing from inside pipyx."""
    assert 'Traceback' not in stderr, stderr
    assert PACKAGE_DIR not in stderr, stderr
    assert '.pyx' not in stderr, stderr


def children_of(pid):
    """Pids whose parent is pid (read from /proc, no zombies)."""
    out = []
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % name) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(')') + 2:].split()
        if int(fields[1]) == pid and fields[0] != 'Z':
            out.append(int(name))
    return sorted(out)


def two_workers(pid):
    """The two worker pids under pid, from one look at /proc; or None."""
    now = children_of(pid)
    return now if len(now) == 2 else None


def in_thread(fn, *args):
    """Runs fn(*args) in a thread; returns a function that waits (bounded) and returns its result or exception."""
    result = {}

    def run():
        try:
            result['value'] = fn(*args)
        except BaseException as e:        # reported to the test by outcome()
            result['error'] = e
    t = threading.Thread(target=run, daemon=True)
    t.start()

    def outcome(timeout=10.0):
        t.join(timeout)
        assert not t.is_alive(), 'client thread still running after %gs' % timeout
        return result.get('value', result.get('error'))
    return outcome


HELLO = """
from pipyx import pipy, Message
pipy().listen('127.0.0.1:{port}').serve_http(Message('Hi, there!\\n'))
"""
