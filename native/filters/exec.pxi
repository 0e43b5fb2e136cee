# exec: a stream through a child process. The child starts at the stream's first event; Data goes to its stdin, its
# stdout comes out as Data, and once stdout is closed and the child has exited, the stream ends: normally if it
# exited with status 0, else with StreamEnd('RuntimeError') (logged with the status). A StreamEnd coming in closes
# the child's stdin, so it can finish what it was given (one with an error kills it); a pipeline that goes away
# kills its child. Flow control both ways: a child that does not read its stdin pauses the stream's source, and a
# stream whose output is congested stops reading the child's stdout.

import signal as _signal
import subprocess as _subprocess

cdef enum:
    EXEC_IDLE = 0
    EXEC_STARTING = 1
    EXEC_RUNNING = 2
    EXEC_DONE = 3

DEFAULT_EXEC_BUFFER_LIMIT = 1024 * 1024
cdef Py_ssize_t STDERR_KEPT = 64 * 1024


cdef class ExecOptions:
    pass


cdef class ExecFilter(Endpoint):
    """exec(command, *, stderr='inherit', env=None, on_start=None, on_exit=None, buffer_limit=1 MiB); see
    pipyx/filters/exec.py."""

    def __init__(self, command, stderr='inherit', env=None, on_start=None, on_exit=None,
                 buffer_limit=DEFAULT_EXEC_BUFFER_LIMIT):
        cdef ExecOptions o = ExecOptions.__new__(ExecOptions)
        if not callable(command) and not isinstance(command, (str, list, tuple)):
            raise TypeError('exec() takes a shell command (str), an argv (list) or a callable returning one')
        if isinstance(command, (list, tuple)) and not command:
            raise ValueError('exec() with an empty argv')
        if stderr not in ('inherit', 'capture', 'output'):
            raise ValueError("exec(): stderr is 'inherit', 'capture' or 'output', not %r" % (stderr,))
        o.command = command
        o.stderr = stderr
        o.env = env
        o.on_start = on_start
        o.on_exit = on_exit
        o.buffer_limit = int(buffer_limit) if buffer_limit is not None else DEFAULT_EXEC_BUFFER_LIMIT
        self.opts = o
        self.fd = -1

    cdef Filter clone(self):
        cdef ExecFilter f = ExecFilter.__new__(ExecFilter)
        f.opts = self.opts
        f.fd = -1
        return f

    def describe(self):
        return 'exec(%s)' % ('<callable>' if callable(self.opts.command) else self.opts.command)

    cdef int on_event(self, Event evt) except -1:
        cdef Data d
        cdef Py_ssize_t i
        if self.state == EXEC_DONE:
            return 0
        if self.state == EXEC_IDLE:
            self.start()
            if self.state == EXEC_DONE:
                return 0
        if isinstance(evt, Data):
            if self.input_ended:
                return 0
            d = <Data>evt
            for i in range(d.chunk_count()):
                c = d.chunk_at(i)
                self.write_stdin(bytes(c) if type(c) is FileChunk else c)
            if self.write_paused:
                self.note_congestion()
            return 0
        if isinstance(evt, StreamEnd):
            if (<StreamEnd>evt).error is not None:
                self.kill()
            else:
                self.end_stdin()
        return 0

    cdef int start(self) except -1:
        cdef ExecOptions o = self.opts
        self.state = EXEC_STARTING
        try:
            command = self.evaluate(o.command)
            env = self.evaluate(o.env)
            if env is not None:
                env = dict(_os.environ, **{str(k): str(v) for k, v in env.items()})
            if isinstance(command, (list, tuple)) and command:
                self.name = ' '.join(map(str, command))
            elif isinstance(command, str) and command:
                self.name = command
            else:
                raise TypeError('exec(): the command is %r; expected a shell command or an argv' % (command,))
        except Exception as e:
            self.state = EXEC_DONE
            return self.fail_stream(e)
        stderr = {'inherit': None, 'capture': _subprocess.PIPE, 'output': _subprocess.STDOUT}[o.stderr]
        loop = _asyncio.get_event_loop()
        if isinstance(command, str):
            started = loop.subprocess_shell(lambda: self, command, stdin=_subprocess.PIPE, stdout=_subprocess.PIPE,
                                            stderr=stderr, env=env, start_new_session=True)
        else:
            started = loop.subprocess_exec(lambda: self, *[str(a) for a in command], stdin=_subprocess.PIPE,
                                           stdout=_subprocess.PIPE, stderr=stderr, env=env,
                                           start_new_session=True)
        self.task = loop.create_task(started)
        self.task.add_done_callback(self._started)
        return 0

    def _started(self, task):
        self.task = None
        if task.cancelled():
            return
        e = task.exception()
        if e is not None:
            if self.state == EXEC_DONE:
                return
            self.state = EXEC_DONE
            log_warning('pipyx.filter', 'exec%s: cannot run %s: %s' % (where(self.location), self.name, e))
            self.drained()
            dispatch_begins()
            try:
                self.output(StreamEnd('RuntimeError'))
            except Exception as e2:
                report_error(e2, self.location)
            finally:
                dispatch_ends()
            return
        if self.state == EXEC_DONE:          # the pipeline went away meanwhile
            self.kill()
            if self.transport is not None:
                self.transport.close()
                self.transport = None
            return
        self.state = EXEC_RUNNING
        pending, self.pending = self.pending, None
        self.pending_size = 0
        # From now on the pipe says when it is full (pause_writing), not what was held while starting.
        self.write_paused = False
        try:
            if self.opts.on_start is not None:
                self.call(self.opts.on_start, self.transport.get_pid())
            if pending:
                for c in pending:
                    self.write_stdin(c)
            if self.input_ended:
                self.end_stdin()
        except Exception as e:
            self.kill()
            self.state = EXEC_DONE
            self.fail_stream(e)
            return
        if not self.write_paused:
            self.drained()

    # The subprocess protocol, called by the event loop.

    def connection_made(self, transport):
        self.transport = transport
        self.stdin = transport.get_pipe_transport(0)
        self.stdout = transport.get_pipe_transport(1)

    def pipe_data_received(self, fd, data):
        if self.state == EXEC_DONE:
            return
        if fd == 1:
            self.read_begins()
            try:
                self.output(Data.wrap(data))
            except Exception as e:
                report_error(e, self.location)
                self.kill()
            finally:
                # A child's stdout is read even while its stdin is full: it may be waiting to write before it reads.
                if congested_endpoint() is self:
                    swap_congested(None)
                self.read_ends()
        elif fd == 2:
            if self.errors is None:
                self.errors = bytearray()
            if len(self.errors) < STDERR_KEPT:
                self.errors += data[:STDERR_KEPT - len(self.errors)]

    def pipe_connection_lost(self, fd, exc):
        if fd == 1 or fd == 2:
            if fd == 1:
                self.stdout_ended = True
            else:
                self.stderr_ended = True
            self.check_ending()
        elif fd == 0:
            self.input_ended = True       # the child closed its stdin: what comes next has nowhere to go
            self.drained()

    def connection_lost(self, exc):
        pass                              # what matters was said by pipe_connection_lost and process_exited

    def process_exited(self):
        self.exited = True
        self.returncode = self.transport.get_returncode() if self.transport is not None else None
        self.check_ending()

    def pause_writing(self):
        self.write_paused = True

    def resume_writing(self):
        self.drained()

    cdef int write_stdin(self, object chunk) except -1:
        if self.state == EXEC_STARTING:
            if self.pending is None:
                self.pending = []
            self.pending.append(chunk)
            self.pending_size += len(chunk)
            if self.pending_size > self.opts.buffer_limit:
                self.write_paused = True
            return 0
        if self.stdin is not None and not self.stdin.is_closing():
            self.stdin.write(chunk)
        return 0

    cdef void end_stdin(self):
        self.input_ended = True
        if self.state == EXEC_RUNNING and self.stdin is not None and not self.stdin.is_closing():
            self.stdin.close()

    cdef int check_ending(self) except -1:
        cdef ExecOptions o = self.opts
        if not (self.exited and self.stdout_ended) or self.state == EXEC_DONE:
            return 0
        if o.stderr == 'capture' and not self.stderr_ended:
            return 0                      # on_exit gets all of it
        self.state = EXEC_DONE
        self.drained()
        code = self.returncode
        if self.transport is not None:
            self.transport.close()
            self.transport = None
        dispatch_begins()
        try:
            if o.on_exit is not None:
                try:
                    if o.stderr == 'capture':
                        r = self.call(lambda c: o.on_exit(c, Data(bytes(self.errors or b''))), code)
                    else:
                        r = self.call(o.on_exit, code)
                    emit_value(self, r)
                except Exception as e:
                    return self.fail_stream(e)
                if isinstance(r, StreamEnd) or (isinstance(r, (list, tuple)) and r and isinstance(r[len(r) - 1], StreamEnd)):
                    return 0
            if code == 0:
                return self.output(StreamEnd())
            if code is not None and code < 0:
                try:
                    why = 'was killed by %s' % _signal.Signals(-code).name
                except ValueError:
                    why = 'was killed by signal %d' % -code
            else:
                why = 'exited with status %s' % code
            log_warning('pipyx.filter', 'exec%s: %s %s' % (where(self.location), self.name, why))
            return self.output(StreamEnd('RuntimeError'))
        finally:
            dispatch_ends()

    cdef void kill(self):
        # The whole process group: a shell command's children go with it.
        if self.transport is not None and not self.exited and not self.kill_sent:
            self.kill_sent = True
            try:
                _os.killpg(self.transport.get_pid(), _signal.SIGKILL)
            except (OSError, TypeError):
                try:
                    self.transport.kill()
                except Exception:
                    pass

    cdef void pause_input(self):
        if self.stdout is not None:
            try:
                self.stdout.pause_reading()
            except Exception:
                pass

    cdef void resume_input(self):
        if self.stdout is not None:
            try:
                self.stdout.resume_reading()
            except Exception:
                pass

    cdef void shutdown(self):
        if self.state != EXEC_DONE:
            self.state = EXEC_DONE
            self.kill()
        # (A child still starting is killed by _started once it has.)
        self.drained()
        if self.transport is not None:
            self.transport.close()
            self.transport = None
