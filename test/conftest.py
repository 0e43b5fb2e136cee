"""Fixtures shared by the tests: free ports, and pipyx started as a real process on 127.0.0.1."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# scripts/test installs every peer the tests talk to (curl, wrk, chromium, etcd, mosquitto...) and says so here.
PEERS_REQUIRED = os.environ.get('PIPYX_TEST_PEERS') == 'required'


def missing_peer(reason):
    """A peer a test needs is not on this machine: skipped in a plain pytest run, a failure under scripts/test."""
    if PEERS_REQUIRED:
        pytest.fail(reason + ' (scripts/test installs it: the set-up is broken)')
    pytest.skip(reason)


def lacks(command):
    """For skipif: the command is not installed, in a run that does not require the peers."""
    return not PEERS_REQUIRED and shutil.which(command) is None


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def stop_process(proc, timeout=5.0):
    """SIGTERM, then SIGKILL after timeout: for processes a test started, by their pid."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def listening(port):
    """Whether some socket listens on TCP `port`, read from /proc/net/tcp{,6} without connecting: a probe connection
    would be a client of its own to the server under test (and a proxy carries a new connection on at once)."""
    for name in ('/proc/net/tcp', '/proc/net/tcp6'):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == '0A' and int(fields[1].rsplit(':', 1)[1], 16) == port:
                        return True
        except FileNotFoundError:
            continue
    return False


def wait_port(port, timeout=10.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        if listening(port):
            return True
        time.sleep(0.05)
    return False


class PipyxProcess:
    """A pipyx process started by a test; stopped (by its pid) when the test ends."""

    def __init__(self, args, cwd=None, env=None):
        self.args = args
        e = dict(os.environ)
        e['PYTHONPATH'] = ROOT + os.pathsep + e.get('PYTHONPATH', '')
        e['PYTHONUNBUFFERED'] = '1'
        e.update(env or {})
        self.log_path = os.path.join(cwd or '/tmp', 'pipyx-%d.log' % time.monotonic_ns())
        self.log_file = open(self.log_path, 'wb')
        self.proc = subprocess.Popen([sys.executable, '-m', 'pipyx'] + list(args), cwd=cwd or ROOT, env=e,
                                     stdout=self.log_file, stderr=subprocess.STDOUT)

    @property
    def pid(self):
        return self.proc.pid

    def log(self):
        self.log_file.flush()
        with open(self.log_path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    def wait_ready(self, port, timeout=10.0):
        if not wait_port(port, timeout, self.proc):
            log = self.log()
            self.stop()
            raise AssertionError('pipyx did not start listening on %d:\n%s' % (port, log))
        return self

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=15.0):
        return self.proc.wait(timeout)

    def stop(self, timeout=10.0):
        stop_process(self.proc, timeout)
        self.log_file.close()
        return self.proc.returncode


@pytest.fixture
def run_pipyx(tmp_path):
    """run_pipyx(script_text, port=..., args=[...]) writes the script to a temporary main.py, starts pipyx on it
    and waits for `port` (when given) to accept connections. `{port}` etc. in the text are not expanded: format it
    yourself. Returns a PipyxProcess; every process is stopped after the test."""
    started = []

    def start(script=None, port=None, args=(), env=None, path=None, cwd=None):
        if script is not None:
            path = tmp_path / ('main-%d.py' % len(started))
            path.write_text(textwrap.dedent(script))
        argv = ([str(path)] if path is not None else []) + list(args)
        p = PipyxProcess(argv, cwd=cwd or str(tmp_path), env=env)
        started.append(p)
        if port is not None:
            p.wait_ready(port)
        return p

    yield start
    for p in started:
        p.stop()


def wait_for(predicate, timeout=5.0, what='condition', interval=0.02):
    """Polls predicate until it returns something true, which is returned; fails naming `what` after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError('timed out after %.1fs waiting for %s' % (timeout, what))
        time.sleep(interval)


CHROMIUM = shutil.which('chromium') or '/usr/bin/chromium'
CHROMEDRIVER = shutil.which('chromedriver') or '/usr/bin/chromedriver'


def headless_chromium(profile_dir, window_size='1200,900', performance_log=False):
    """A selenium driver of Debian's headless Chromium (the test is skipped when it is not installed)."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        missing_peer('headless browser test: %s not installed' % ', '.join(missing))
    webdriver = pytest.importorskip('selenium.webdriver', reason='headless browser test: selenium not installed')
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
                '--disable-background-networking', '--disable-component-update', '--disable-sync',
                '--no-first-run', '--window-size=%s' % window_size, '--user-data-dir=%s' % profile_dir):
        options.add_argument(arg)
    if performance_log:
        options.set_capability('goog:loggingPrefs', {'performance': 'ALL', 'browser': 'ALL'})
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
