"""Running the pipelines started with no connection: task() (at start, every interval, on a signal), watch(path) (when
a file changes) and exit() (when the process stops), as Pipy's. The methods a script calls are in pipyx/builder.py,
beside listen() and pipeline().

Such a pipeline has no peer to read from, so its input is a stream that has already ended: one StreamEnd(). A job is
written with the filters that react to the start or the end of a stream (handle_stream_start, replace_stream_start,
handle_stream_end, ...), and is over when the pipeline outputs a StreamEnd: a pipeline with only handle_* filters
passes the StreamEnd it was given, so it is over once its callbacks (and the awaitables they return) are done. A
task's next run does not start while the previous one is still going, as in Pipy.

The TaskRunner starts the jobs of one loaded version and stops them when a reload replaces that version or the
process stops: timers and signal handlers are removed, and a run still going is shut down.
"""
import asyncio
import logging
import os
import re
import signal

from ._native import Context, EventCollector, StreamEnd
from .errors import report
from .watch import INTERVAL as WATCH_INTERVAL, snapshot

log = logging.getLogger('pipyx')

MIN_INTERVAL = 0.01
MAX_INTERVAL = 24 * 3600.0
# What the process itself answers: a task may not take them over (exit() is the pipeline for a stop, and a reload
# replaces the tasks themselves). SIGKILL and SIGSTOP cannot be caught at all; SIGCHLD belongs to subprocesses.
RESERVED_SIGNALS = {'SIGTERM': 'stops pipyx: do work at a stop in an exit() pipeline',
                    'SIGINT': 'stops pipyx: do work at a stop in an exit() pipeline',
                    'SIGHUP': 'reloads the script, which replaces its tasks',
                    'SIGKILL': 'cannot be caught', 'SIGSTOP': 'cannot be caught',
                    'SIGCHLD': 'tells the event loop about its subprocesses'}
_UNITS = {'ms': 0.001, 's': 1.0, 'm': 60.0, 'h': 3600.0, '': 1.0}


def parse_when(when):
    """task()'s argument: None (once at start) -> ('once', None); a number of seconds or '5s', '100ms', '2m', '1h'
    -> ('every', seconds); a signal name such as 'SIGUSR1' -> ('signal', signal number). Raises ValueError."""
    if when is None:
        return 'once', None
    if isinstance(when, (int, float)) and not isinstance(when, bool):
        seconds = float(when)
    elif isinstance(when, str) and when.upper().startswith('SIG'):
        name = when.upper()
        if name in RESERVED_SIGNALS:
            raise ValueError('%s %s' % (name, RESERVED_SIGNALS[name]))
        number = getattr(signal, name, None)
        if not isinstance(number, signal.Signals):
            raise ValueError('no signal named %s' % when)
        return 'signal', number
    elif isinstance(when, str):
        m = re.fullmatch(r'\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h|)\s*', when)
        if not m:
            raise ValueError("not an interval ('5s', '100ms', '2m', '1h', a number of seconds) or a signal name: %r"
                             % (when,))
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    else:
        raise ValueError('an interval or a signal name, not %s' % type(when).__name__)
    if not MIN_INTERVAL <= seconds <= MAX_INTERVAL:
        raise ValueError('interval %gs is out of range (%gs to %gs)' % (seconds, MIN_INTERVAL, MAX_INTERVAL))
    return 'every', seconds


class JobRun:
    """One run of a job pipeline: its instance, and a future that is done when it outputs a StreamEnd."""

    def __init__(self, layout, loop):
        self.layout = layout
        self.done = loop.create_future()
        self.pipeline = None

    def start(self):
        try:
            self.pipeline = self.layout.start(EventCollector(self._output), Context())
            self.pipeline.input(StreamEnd())
        except Exception as e:
            report(e, self.layout.location)
            self.finish()

    def _output(self, evt):
        if isinstance(evt, StreamEnd):
            if evt.error is not None:
                log.warning('%s ended with %s', self.layout.name, evt.error)
            self.finish()

    def finish(self):
        if not self.done.done():
            self.done.set_result(None)
            if self.pipeline is not None:
                # Shut down from the loop, not from inside the event the pipeline is still handing out.
                self.done.get_loop().call_soon(self.pipeline.close)

    def stop(self):
        self.finish()


class Job:
    """A task() or watch() of a loaded version: when it runs, and the run going now."""

    def __init__(self, kind, arg, layout, runner):
        self.kind, self.arg, self.layout, self.runner = kind, arg, layout, runner
        self.run = None
        self.handle = None               # the timer of an interval task, or the polling task of a watch
        self.skipped = 0

    def fire(self):
        if self.run is not None and not self.run.done.done():
            self.skipped += 1            # the previous run is still going: this one is skipped, as Pipy does
            return
        self.run = JobRun(self.layout, self.runner.loop)
        self.run.start()

    def start(self):
        loop = self.runner.loop
        if self.kind == 'once':
            loop.call_soon(self.fire)
        elif self.kind == 'every':
            self.next_at = loop.time()
            self._tick()
        elif self.kind == 'signal':
            self.runner.on_signal(self.arg, self)
        elif self.kind == 'watch':
            self.handle = loop.create_task(self._watch(self.runner.path_of(self.arg)))

    def _tick(self):
        self.fire()
        loop = self.runner.loop
        # Runs keep to the interval's grid; a loop that fell behind skips the runs it missed instead of bunching them.
        self.next_at += self.arg
        if self.next_at < loop.time():
            self.next_at = loop.time() + self.arg
        self.handle = loop.call_at(self.next_at, self._tick)

    async def _watch(self, path):
        last = file_state(path)
        while True:
            await asyncio.sleep(WATCH_INTERVAL)
            now = file_state(path)
            if now != last:
                last = now
                self.fire()

    def stop(self):
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None
        if self.run is not None:
            self.run.stop()


def file_state(path):
    """What watch() compares: a file's times, size and inode; for a directory, those of every file under it (as
    --watch sees it)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if os.path.isdir(path):
        return snapshot(path)
    return st.st_mtime_ns, st.st_size, st.st_ino


class TaskRunner:
    """Runs the task(), watch() and exit() pipelines of one loaded version."""

    def __init__(self, program, loop):
        self.loop = loop
        self.root = program.root
        self.jobs = []
        self.exits = []
        self.signals = {}                # signal number -> [Job]
        for (kind, arg), layout in program.jobs:
            if kind == 'exit':
                self.exits.append(layout)
            else:
                self.jobs.append(Job(kind, arg, layout, self))

    def path_of(self, path):
        return os.path.join(self.root, path)

    def on_signal(self, number, job):
        jobs = self.signals.get(number)
        if jobs is None:
            jobs = self.signals[number] = []
            self.loop.add_signal_handler(number, self._signalled, number)
        jobs.append(job)

    def _signalled(self, number):
        for job in self.signals.get(number, ()):
            job.fire()

    def start(self):
        for job in self.jobs:
            job.start()
        return self

    def stop(self):
        for number in self.signals:
            self.loop.remove_signal_handler(number)
        self.signals = {}
        for job in self.jobs:
            job.stop()

    async def run_exits(self, timeout):
        """Runs every exit() pipeline and waits for them all to end, at most timeout seconds."""
        if not self.exits:
            return
        runs = [JobRun(layout, self.loop) for layout in self.exits]
        for r in runs:
            r.start()
        waiting = [r.done for r in runs]
        done, pending = await asyncio.wait(waiting, timeout=timeout)
        if pending:
            log.warning('%d exit pipeline%s still going after %gs: stopping anyway', len(pending),
                        '' if len(pending) == 1 else 's', timeout)
        for r in runs:
            r.stop()
        await asyncio.sleep(0)           # let the pipelines' shutdowns (scheduled with call_soon) run
