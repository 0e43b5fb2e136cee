"""Fixtures every area uses; what they are made of is in test/helpers/."""
import textwrap

import pytest

from test.helpers import Backend, Processes, certificates


@pytest.fixture
def processes(tmp_path):
    """The test's Processes: programs started through it are stopped (by pid) when the test ends."""
    held = Processes(tmp_path)
    yield held
    held.stop_all()


@pytest.fixture
def run_pipyx(processes, tmp_path):
    """run_pipyx(script_text, port=..., args=[...]) writes the script to a temporary main-N.py, starts pipyx on it
    and waits for `port` (when given) to accept connections. `{port}` etc. in the text are not expanded: format it
    yourself. Returns a PipyxProcess; every process is stopped after the test."""
    def start(script=None, port=None, args=(), env=None, path=None, cwd=None):
        if script is not None:
            path = tmp_path / ('main-%d.py' % len(processes.started))
            path.write_text(textwrap.dedent(script))
        argv = ([str(path)] if path is not None else []) + list(args)
        return processes.pipyx(argv, port, env, cwd)
    return start


@pytest.fixture
def backend(tmp_path):
    """test/helpers/backend_app.py on a free port; yields the port; stopped (by its pid) afterwards."""
    b = Backend(tmp_path)
    yield b.port
    b.stop()


@pytest.fixture(scope='module')
def certs(tmp_path_factory):
    """A CA and a certificate for 127.0.0.1 signed by it: {'ca', 'cert', 'key'} paths."""
    return certificates(str(tmp_path_factory.mktemp('certs')))
