"""Programs a test starts (pipyx above all), each with its output in a log file and stopped by its pid; and what
/proc tells about a process."""
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

from .sockets import free_port, wait_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pipyx's arguments for a test that may leave streams open: at the end, do not wait 10 s for them to drain
FAST_STOP = ['--drain-timeout', '0.5']


def stop_process(proc, timeout=5.0):
    """SIGTERM, then SIGKILL after timeout: for a Popen a test started, by its pid."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


class Process:
    """A program started by a test, its output (stdout and stderr) in a log file in log_dir (default: cwd, else the
    temporary directory). Every process finds pipyx in this tree and writes its output at once. env is added to the
    test's environment; a value of None removes the variable."""

    def __init__(self, argv, cwd=None, env=None, log_dir=None, name=None):
        self.argv = [str(a) for a in argv]
        self.cwd = str(cwd or ROOT)
        self.env = dict(os.environ)
        self.env['PYTHONPATH'] = ROOT + os.pathsep + self.env.get('PYTHONPATH', '')
        self.env['PYTHONUNBUFFERED'] = '1'
        for key, value in (env or {}).items():
            if value is None:
                self.env.pop(key, None)
            else:
                self.env[key] = str(value)
        self.log_dir = str(log_dir or cwd or tempfile.gettempdir())
        self.name = name or os.path.basename(self.argv[0])
        self.start()

    def start(self):
        """Starts the program (again, once it has stopped), with a log of its own."""
        self.log_path = os.path.join(self.log_dir, '%s-%d.log' % (self.name, time.monotonic_ns()))
        self.log_file = open(self.log_path, 'wb')
        self.proc = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env, stdout=self.log_file,
                                     stderr=subprocess.STDOUT)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def log(self):
        with open(self.log_path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    def wait_ready(self, port, timeout=10.0):
        """Waits for the process to listen on port; stops it and fails with its log if it does not."""
        if not wait_port(port, timeout, self.proc):
            self.stop()
            raise AssertionError('%s did not start listening on %d:\n%s' % (self.name, port, self.log()))
        return self

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=15.0):
        return self.proc.wait(timeout)

    def stop(self, timeout=10.0):
        stop_process(self.proc, timeout)
        self.log_file.close()
        return self.proc.returncode

    def kill(self):
        """SIGKILL: nothing of the program's own shutdown runs."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.log_file.close()


class PipyxProcess(Process):
    """`python -m pipyx ARGS`."""

    def __init__(self, args, cwd=None, env=None, log_dir=None):
        super().__init__([sys.executable, '-m', 'pipyx'] + list(args), cwd, env, log_dir, name='pipyx')


class ScriptOnPorts:
    """pipyx running one script that listens on a free port per name in port_names, for a whole test module: the
    script's text is formatted with those ports and `values`, and each name reads as an attribute (self.p_main)."""

    def __init__(self, tmp, script, port_names, **values):
        self.ports = {n: free_port() for n in port_names}
        self.text = textwrap.dedent(script.format(**values, **self.ports))
        self.path = os.path.join(str(tmp), 'main.py')
        with open(self.path, 'w') as f:
            f.write(self.text)
        self.proc = PipyxProcess([self.path], cwd=str(tmp))
        for p in self.ports.values():
            self.proc.wait_ready(p)

    def __getattr__(self, name):
        ports = self.__dict__.get('ports', {})
        if name in ports:
            return ports[name]
        raise AttributeError(name)

    def alive(self):
        return self.proc.proc.poll() is None


class Processes:
    """The processes one test starts, stopped by their pids when it ends: the last started first, so that a proxy
    goes before the backend it talks to. Their logs are in directory."""

    def __init__(self, directory):
        self.directory = str(directory)
        self.started = []

    def start(self, argv, port=None, env=None, cwd=None, name=None):
        """Any program; waits for it to listen on port, when given."""
        return self._held(Process(argv, cwd or self.directory, env, self.directory, name), port)

    def pipyx(self, args=(), port=None, env=None, cwd=None):
        return self._held(PipyxProcess(args, cwd or self.directory, env, self.directory), port)

    def _held(self, process, port):
        self.started.append(process)
        return process.wait_ready(port) if port is not None else process

    def stop_all(self):
        for process in reversed(self.started):
            process.stop()


def alive(pid):
    """Whether the process exists and is not a zombie."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(')') + 2:].split()[0] != 'Z'


def vm_rss_kb(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    raise AssertionError('no VmRSS for %d' % pid)


def open_fds(pid):
    return len(os.listdir('/proc/%d/fd' % pid))


def no_traceback(log):
    assert 'Traceback' not in log, log[-4000:]
