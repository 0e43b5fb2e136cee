"""task(), watch() and exit(): pipelines started with no connection, in a real pipyx process.

Each script writes what its jobs do to a file in the test's directory; the test reads it, with a deadline.
"""
import os
import signal
import time

import pytest
from hypothesis import given, strategies as st

from pipyx.tasks import parse_when
from test.cli.support import run_cli, write_script
from test.helpers import wait_for


def lines(path):
    try:
        with open(path) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


LOG = """
import asyncio, time
from pipyx import pipy

def note(text):
    with open({log!r}, 'a') as f:
        f.write(text + '\\n')
"""


def script(tmp_path, body, **values):
    log = str(tmp_path / 'jobs.log')
    text = (LOG + body).format(log=log, **values)
    return text, log


def test_interval_task_runs_again_and_again_and_once_task_runs_once(run_pipyx, tmp_path):
    text, log = script(tmp_path, """
pipy().task('0.2s').handle_stream_start(lambda e: note('tick'))
pipy().task().handle_stream_start(lambda e: note('once'))
""")
    run_pipyx(text)
    wait_for(lambda: lines(log).count('tick') >= 4, timeout=5, what='four ticks')
    assert lines(log).count('once') == 1


def test_a_run_does_not_start_while_the_previous_one_is_going(run_pipyx, tmp_path):
    # Every 50 ms, a job that takes 250 ms: runs never overlap, as in Pipy.
    text, log = script(tmp_path, """
async def job(e):
    note('start')
    await asyncio.sleep(0.25)
    note('end')
pipy().task('50ms').handle_stream_start(job)
""")
    run_pipyx(text)
    wait_for(lambda: lines(log).count('end') >= 3, timeout=5, what='three runs')
    seen = lines(log)
    # start, end, start, end, ...: each start follows the previous run's end
    assert all(a != b for a, b in zip(seen, seen[1:])), seen


def test_signal_task_runs_on_each_signal(run_pipyx, tmp_path):
    text, log = script(tmp_path, """
pipy().task().handle_stream_start(lambda e: note('ready'))
pipy().task('SIGUSR1').handle_stream_start(lambda e: note('usr1'))
""")
    p = run_pipyx(text)
    wait_for(lambda: 'ready' in lines(log), timeout=5, what='start')
    p.signal(signal.SIGUSR1)
    wait_for(lambda: lines(log).count('usr1') == 1, timeout=5, what='first signal')
    p.signal(signal.SIGUSR1)
    wait_for(lambda: lines(log).count('usr1') == 2, timeout=5, what='second signal')
    assert p.proc.poll() is None


def test_exit_pipeline_runs_on_sigterm_and_the_process_waits_for_it(run_pipyx, tmp_path):
    text, log = script(tmp_path, """
async def goodbye(e):
    await asyncio.sleep(0.3)
    note('bye')
pipy().task().handle_stream_start(lambda e: note('ready'))
pipy().exit().handle_stream_start(goodbye)
""")
    p = run_pipyx(text)
    wait_for(lambda: 'ready' in lines(log), timeout=5, what='start')
    p.signal(signal.SIGTERM)
    assert p.wait(10) == 0
    assert lines(log) == ['ready', 'bye']


def test_an_exit_pipeline_that_never_ends_is_waited_for_only_up_to_the_drain_timeout(run_pipyx, tmp_path):
    text, log = script(tmp_path, """
pipy().task().handle_stream_start(lambda e: note('ready'))
pipy().exit().replace_stream_start(None)        # swallows its StreamEnd: never done
""")
    p = run_pipyx(text, args=['--drain-timeout', '0.5'])
    wait_for(lambda: 'ready' in lines(log), timeout=5, what='start')
    p.signal(signal.SIGTERM)
    assert p.wait(10) == 0
    assert 'exit pipeline still going after 0.5s' in p.log()


def test_tasks_of_the_replaced_version_stop_at_a_reload(run_pipyx, tmp_path):
    main = tmp_path / 'main.py'
    log = str(tmp_path / 'jobs.log')
    version = LOG + "pipy().task('0.1s').handle_stream_start(lambda e: note('{v}'))\n"
    write_script(main, version.format(log=log, v='v1'))
    p = run_pipyx(path=main)
    wait_for(lambda: 'v1' in lines(log), timeout=5, what='v1 runs')
    # A version that does not load leaves the running one's tasks going.
    write_script(main, version.format(log=log, v='broken') + 'pipy().task(\'SIGKILL\')\n')
    p.signal(signal.SIGHUP)
    wait_for(lambda: 'reload failed' in p.log(), timeout=5, what='the failed reload')
    count = lines(log).count('v1')
    wait_for(lambda: lines(log).count('v1') >= count + 2, timeout=5, what='v1 still running')
    write_script(main, version.format(log=log, v='v2'))
    p.signal(signal.SIGHUP)
    wait_for(lambda: lines(log).count('v2') >= 3, timeout=5, what='v2 runs')
    seen = lines(log)
    assert 'v1' not in seen[seen.index('v2'):] and 'broken' not in seen, seen


def test_watch_runs_when_the_file_changes(run_pipyx, tmp_path):
    watched = tmp_path / 'settings.txt'
    watched.write_text('one')
    text, log = script(tmp_path, """
import pipyx

def changed(e):
    content = pipyx.load('settings.txt')          # None once the file is gone
    note('changed ' + (content.to_str() if content is not None else '(gone)'))

pipy().task().handle_stream_start(lambda e: note('ready'))
pipy().watch('settings.txt').handle_stream_start(changed)
""")
    write_script(tmp_path / 'main.py', text)
    run_pipyx(path=tmp_path / 'main.py')
    wait_for(lambda: 'ready' in lines(log), timeout=5, what='start')
    time.sleep(0.7)                                   # a full polling round sees the file unchanged
    assert lines(log) == ['ready']
    watched.write_text('two, longer')
    wait_for(lambda: 'changed two, longer' in lines(log), timeout=5, what='the change seen')
    os.unlink(watched)
    wait_for(lambda: 'changed (gone)' in lines(log), timeout=5, what='the removal seen')


def test_watch_on_a_directory_runs_when_a_file_under_it_changes(run_pipyx, tmp_path):
    (tmp_path / 'conf' / 'sites').mkdir(parents=True)
    text, log = script(tmp_path, """
pipy().task().handle_stream_start(lambda e: note('ready'))
pipy().watch('conf').handle_stream_start(lambda e: note('conf changed'))
""")
    write_script(tmp_path / 'main.py', text)
    run_pipyx(path=tmp_path / 'main.py')
    wait_for(lambda: 'ready' in lines(log), timeout=5, what='start')
    (tmp_path / 'conf' / 'sites' / 'a.json').write_text('{}')
    wait_for(lambda: 'conf changed' in lines(log), timeout=5, what='a new file seen')


@pytest.mark.parametrize('when, message', [
    ('SIGTERM', 'task(): SIGTERM stops pipyx'),
    ('SIGNOPE', 'task(): no signal named SIGNOPE'),
    ('5 parsecs', "task(): not an interval"),
    ('0s', 'task(): interval 0s is out of range'),
])
def test_a_bad_task_argument_is_a_load_error_with_its_line(tmp_path, when, message):
    main = write_script(tmp_path / 'main.py', """
        from pipyx import pipy
        pipy().task(%r).dump()
    """ % when)
    r = run_cli([str(main), '--verify'])
    assert r.returncode == 1
    assert 'main.py:2: ' + message in r.stderr, r.stderr


def test_a_script_with_only_tasks_loads(tmp_path):
    main = write_script(tmp_path / 'main.py', """
        from pipyx import pipy
        pipy().task('1s').dump()
    """)
    r = run_cli([str(main), '--verify'])
    assert r.returncode == 0, r.stderr


@given(st.floats(min_value=0.01, max_value=86400, allow_nan=False), st.sampled_from(['', 's', 'ms', 'm', 'h']))
def test_interval_text_round_trip(seconds, unit):
    scale = {'': 1, 's': 1, 'ms': 0.001, 'm': 60, 'h': 3600}[unit]
    text = '%r%s' % (seconds / scale, unit)
    if 'e' in text:
        return                                       # no exponent notation in intervals
    try:
        kind, value = parse_when(text)
    except ValueError as e:
        assert 'out of range' in str(e)              # rounding at the edges of the range
        return
    assert kind == 'every' and value == pytest.approx(seconds, rel=1e-9)


@given(st.text(max_size=12))
def test_any_text_parses_or_is_refused_with_value_error(text):
    try:
        kind, _ = parse_when(text)
    except ValueError:
        return
    assert kind in ('every', 'signal')
