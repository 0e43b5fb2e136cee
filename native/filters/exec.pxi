# exec: a stream through a child process. The child starts at the stream's first event; Data goes to its stdin, its
# stdout comes out as Data, and once stdout is closed and the child has exited, the stream ends: normally if it
# exited with status 0, else with StreamEnd('RuntimeError') (logged with the status). A StreamEnd coming in closes
# the child's stdin, so it can finish what it was given (one with an error kills it); a pipeline that goes away
# kills its child. Flow control both ways: a child that does not read its stdin pauses the stream's source, and a
# stream whose output is congested stops reading the child's stdout.
#
# With pty=True the child's stdin and stdout (and its stderr, unless told otherwise) are a pseudo-terminal, as
# Pipy's forkpty: the child is a session leader whose controlling terminal it is, and sees isatty() true. The loop
# watches the terminal's master side itself (asyncio's pipe transports take pipes and sockets): bytes written wait in
# pty_out while the terminal is full, and the child's end shows as EIO on the master once no process holds the child
# side. A StreamEnd in is the terminal's EOF (^D) rather than a close, which would hang the child up.

import signal as _signal
import subprocess as _subprocess

cdef enum:
    EXEC_IDLE = 0
    EXEC_STARTING = 1
    EXEC_RUNNING = 2
    EXEC_DONE = 3

DEFAULT_EXEC_BUFFER_LIMIT = 1024 * 1024
cdef Py_ssize_t STDERR_KEPT = 64 * 1024
cdef Py_ssize_t PTY_HIGH_WATER = 64 * 1024       # stdin bytes the terminal has not taken, before the source pauses


def _terminal_session(str tty_name):
    # Run in the child before it execs, when its stdin is not yet the terminal: a new session, whose leader opening
    # the terminal makes it the controlling terminal (^C is then SIGINT).
    def begin():
        _os.setsid()
        _os.close(_os.open(tty_name, _os.O_RDWR))
    return begin


cdef class ExecOptions:
    pass


cdef class ExecFilter(Endpoint):
    """exec(command, *, stderr='inherit', env=None, on_start=None, on_exit=None, buffer_limit=1 MiB, pty=False);
    see pipyx/filters/exec.py."""

    def __init__(self, command, stderr=None, env=None, on_start=None, on_exit=None,
                 buffer_limit=DEFAULT_EXEC_BUFFER_LIMIT, pty=False):
        cdef ExecOptions o = ExecOptions.__new__(ExecOptions)
        if not callable(command) and not isinstance(command, (str, list, tuple)):
            raise TypeError('exec() takes a shell command (str), an argv (list) or a callable returning one')
        if isinstance(command, (list, tuple)) and not command:
            raise ValueError('exec() with an empty argv')
        if stderr is None:
            stderr = 'output' if pty else 'inherit'
        if stderr not in ('inherit', 'capture', 'output'):
            raise ValueError("exec(): stderr is 'inherit', 'capture' or 'output', not %r" % (stderr,))
        o.command = command
        o.stderr = stderr
        o.pty = bool(pty)
        o.env = env
        o.on_start = on_start
        o.on_exit = on_exit
        o.buffer_limit = int(buffer_limit) if buffer_limit is not None else DEFAULT_EXEC_BUFFER_LIMIT
        self.opts = o
        self.fd = -1
        self.pty_fd = self.pty_child_fd = -1

    cdef Filter clone(self):
        cdef ExecFilter f = ExecFilter.__new__(ExecFilter)
        f.opts = self.opts
        f.fd = -1
        f.pty_fd = f.pty_child_fd = -1
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
        stdin = stdout = _subprocess.PIPE
        extra = {}
        if o.pty:
            try:
                self.pty_fd, self.pty_child_fd = _os.openpty()
                _os.set_blocking(self.pty_fd, False)
                tty_name = _os.ttyname(self.pty_child_fd)
            except OSError as e:
                self.state = EXEC_DONE
                self.pty_close()
                return self.fail_stream(e)
            stdin = stdout = self.pty_child_fd
            if o.stderr == 'output':
                stderr = self.pty_child_fd
            extra['preexec_fn'] = _terminal_session(tty_name)
            self.pty_out = bytearray()
        loop = _asyncio.get_event_loop()
        if isinstance(command, str):
            started = loop.subprocess_shell(lambda: self, command, stdin=stdin, stdout=stdout,
                                            stderr=stderr, env=env, start_new_session=not o.pty, **extra)
        else:
            started = loop.subprocess_exec(lambda: self, *[str(a) for a in command], stdin=stdin,
                                           stdout=stdout, stderr=stderr, env=env,
                                           start_new_session=not o.pty, **extra)
        self.task = loop.create_task(started)
        self.task.add_done_callback(self._started)
        return 0

    def _started(self, task):
        self.task = None
        if self.pty_child_fd >= 0:               # the child has its own copy now (or never will)
            _os.close(self.pty_child_fd)
            self.pty_child_fd = -1
        if task.cancelled():
            self.pty_close()
            return
        e = task.exception()
        if e is not None:
            if self.state == EXEC_DONE:
                self.pty_close()
                return
            self.state = EXEC_DONE
            self.pty_close()
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
            self.pty_close()
            self.kill()
            if self.transport is not None:
                self.transport.close()
                self.transport = None
            return
        self.state = EXEC_RUNNING
        if self.pty_fd >= 0:
            self.pty_read_on(True)
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
        if self.pty_fd >= 0:
            return self.pty_write(chunk)
        if self.stdin is not None and not self.stdin.is_closing():
            self.stdin.write(chunk)
        return 0

    cdef void end_stdin(self):
        self.input_ended = True
        if self.state == EXEC_RUNNING and self.pty_fd >= 0:
            self.pty_write(b'\x04\x04' if self.pty_line_open else b'\x04')
            return
        if self.state == EXEC_RUNNING and self.stdin is not None and not self.stdin.is_closing():
            self.stdin.close()

    cdef int check_ending(self) except -1:
        cdef ExecOptions o = self.opts
        if not (self.exited and self.stdout_ended) or self.state == EXEC_DONE:
            return 0
        if o.stderr == 'capture' and not self.stderr_ended:
            return 0                      # on_exit gets all of it
        self.state = EXEC_DONE
        self.pty_close()
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
        if self.pty_fd >= 0:
            self.pty_read_on(False)
        if self.stdout is not None:
            try:
                self.stdout.pause_reading()
            except Exception:
                pass

    cdef void resume_input(self):
        if self.pty_fd >= 0 and self.state == EXEC_RUNNING:
            self.pty_read_on(True)
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
        if self.task is None:
            self.pty_close()
        self.drained()
        if self.transport is not None:
            self.transport.close()
            self.transport = None

    # The pseudo-terminal's master side, watched by the loop.

    cdef int pty_write(self, object chunk) except -1:
        cdef Py_ssize_t n = 0
        if len(chunk):
            self.pty_line_open = chunk[len(chunk) - 1] != 10
        if not self.pty_out:
            try:
                n = _os.write(self.pty_fd, chunk)
            except BlockingIOError:
                n = 0
            except OSError:
                return 0                     # the child side is gone: nobody reads what comes next
            if n == len(chunk):
                return 0
            _asyncio.get_event_loop().add_writer(self.pty_fd, self._pty_writable)
        self.pty_out += chunk[n:]
        if len(self.pty_out) > PTY_HIGH_WATER:
            self.write_paused = True
        return 0

    def _pty_writable(self):
        if self.pty_fd < 0:
            return
        try:
            n = _os.write(self.pty_fd, self.pty_out)
        except BlockingIOError:
            return
        except OSError:
            n = len(self.pty_out)
        del self.pty_out[:n]
        if not self.pty_out:
            _asyncio.get_event_loop().remove_writer(self.pty_fd)
            if self.write_paused:
                self.drained()

    cdef void pty_read_on(self, bint on):
        if self.pty_fd < 0 or on == self.pty_reading:
            return
        self.pty_reading = on
        loop = _asyncio.get_event_loop()
        if on:
            loop.add_reader(self.pty_fd, self._pty_readable)
        else:
            loop.remove_reader(self.pty_fd)

    def _pty_readable(self):
        try:
            data = _os.read(self.pty_fd, 65536)
        except BlockingIOError:
            return
        except OSError:                      # EIO: no process has the child side open any more
            data = b''
        if data:
            self.pipe_data_received(1, data)
        else:
            self.pty_read_on(False)
            self.pipe_connection_lost(1, None)

    cdef void pty_close(self):
        if self.pty_child_fd >= 0:
            _os.close(self.pty_child_fd)
            self.pty_child_fd = -1
        if self.pty_fd < 0:
            return
        self.pty_read_on(False)
        if self.pty_out:
            _asyncio.get_event_loop().remove_writer(self.pty_fd)
            self.pty_out = None
        _os.close(self.pty_fd)
        self.pty_fd = -1
