# deposit_message: a message body too big to hold in memory, held on disk instead. The first `threshold` bytes of a
# body pass on at once; the rest is written to a spool file, and when the message has ended, it is read back and
# passed on (a piece at a time, as the output takes it), followed by the MessageEnd. The file is removed then (unless
# `keep`), and when the stream ends early. A body whose spool would go past max_size ends the stream with
# BufferOverflow.

import tempfile as _tempfile

DEFAULT_DEPOSIT_THRESHOLD = 1024 * 1024
DEFAULT_DEPOSIT_MAX_SIZE = 1024 * 1024 * 1024


cdef class DepositOptions:
    pass


cdef class DepositGate(Endpoint):
    # Congested while a spool is read back and events wait behind it.
    pass


cdef class DepositMessageFilter(Filter):
    """deposit_message(path=None, *, threshold=1 MiB, max_size=1 GiB, keep=False, directory=None); see
    pipyx/filters/deposit_message.py."""

    def __init__(self, path=None, threshold=None, max_size=None, keep=False, directory=None):
        cdef DepositOptions o = DepositOptions.__new__(DepositOptions)
        if path is not None and not callable(path) and not isinstance(path, (str, bytes, _os.PathLike)):
            raise TypeError('deposit_message() takes a path, a callable returning one, or options; not %s'
                            % type(path).__name__)
        o.path = path
        o.threshold = int(threshold) if threshold is not None else DEFAULT_DEPOSIT_THRESHOLD
        o.max_size = int(max_size) if max_size is not None else DEFAULT_DEPOSIT_MAX_SIZE
        o.keep = bool(keep)
        o.directory = directory
        if o.threshold < 0 or o.max_size <= 0:
            raise ValueError('deposit_message(): threshold must not be negative and max_size must be above 0')
        self.opts = o

    cdef Filter clone(self):
        cdef DepositMessageFilter f = DepositMessageFilter.__new__(DepositMessageFilter)
        f.opts = self.opts
        return f

    def describe(self):
        return 'deposit_message'

    cdef int on_event(self, Event evt) except -1:
        if self.failed:
            return 0
        if self.queue is not None:
            # Reading a spool back: what comes meanwhile waits, and the reader that brought it pauses until then.
            self.queue.append(evt)
            if self.gate is None:
                self.gate = DepositGate.__new__(DepositGate)
                self.gate.fd = -1
            self.gate.write_paused = True
            self.gate.note_congestion()
            return 0
        return self.process(evt)

    cdef int process(self, Event evt) except -1:
        if isinstance(evt, Data):
            if not self.in_message:
                return self.output(evt)
            if self.file is None and self.passed + (<Data>evt).nbytes() <= self.opts.threshold:
                self.passed += (<Data>evt).nbytes()
                return self.output(evt)
            return self.spool(<Data>evt)
        if isinstance(evt, MessageStart):
            self.in_message = True
            self.passed = self.spooled = 0
            return self.output(evt)
        if isinstance(evt, MessageEnd):
            self.in_message = False
            if self.file is None:
                return self.output(evt)
            # Read the spool back; what comes meanwhile waits behind it.
            self.end = <MessageEnd>evt
            self.queue = []
            self.file.close()
            try:
                self.file = open(self.file_path, 'rb', buffering=0)
            except OSError as e:
                self.failed = True
                self.drop_file()
                log_warning('pipyx.filter', 'deposit_message%s: cannot read back %s: %s'
                            % (where(self.location), self.file_path, e.strerror))
                return self.output(StreamEnd('ReadError'))
            self.source = new_stream_source(self, self._read_back, self._read_back_done)
            self.source.start()
            return 0
        if isinstance(evt, StreamEnd):
            self.in_message = False
            self.drop_file()
        return self.output(evt)

    cdef int spool(self, Data d) except -1:
        cdef Py_ssize_t i
        if self.spooled + d.nbytes() > self.opts.max_size:
            self.failed = True
            self.drop_file()
            log_warning('pipyx.filter', 'deposit_message%s: a body over max_size (%d bytes spooled); ending the '
                        'stream' % (where(self.location), self.opts.max_size))
            return self.output(StreamEnd('BufferOverflow'))
        try:
            if self.file is None:
                path = self.evaluate(self.opts.path)
                if path is None:
                    fd, self.file_path = _tempfile.mkstemp(prefix='pipyx-deposit-', dir=self.opts.directory)
                    self.file = open(fd, 'wb', buffering=0)
                else:
                    self.file_path = _os.fspath(path)
                    self.file = open(self.file_path, 'wb', buffering=0)
            for i in range(d.chunk_count()):
                c = d.chunk_at(i)
                self.file.write(bytes(c) if type(c) is FileChunk else c)
        except OSError as e:
            self.failed = True
            self.drop_file()
            log_warning('pipyx.filter', 'deposit_message%s: cannot spool the body: %s' % (where(self.location), e))
            return self.output(StreamEnd('WriteError'))
        except Exception as e:
            self.failed = True
            self.drop_file()
            return self.fail_stream(e)
        self.spooled += d.nbytes()
        return 0

    def _read_back(self):
        b = self.file.read(DEFAULT_READ_PIECE)
        if not b:
            return False
        self.output(Data.wrap(b))
        return True

    def _read_back_done(self):
        end, self.end = self.end, None
        self.drop_file()
        self.source = None
        self.output(end)
        if self.gate is not None:
            self.gate.drained()
        self.replay()

    cdef int replay(self) except -1:
        # The events that waited behind the spool, in order, until one starts reading a spool back again.
        queue, self.queue = self.queue, None
        for i in range(len(queue)):
            if self.failed:
                return 0
            self.process(<Event>queue[i])
            if self.queue is not None:
                self.queue.extend(queue[i + 1:])
                return 0
        return 0

    cdef void drop_file(self):
        f, self.file = self.file, None
        if f is not None:
            try:
                f.close()
            except OSError:
                pass
        path, self.file_path = self.file_path, None
        if path is not None and not self.opts.keep:
            try:
                _os.unlink(path)
            except OSError:
                pass

    cdef void shutdown(self):
        self.failed = True
        self.queue = None
        if self.gate is not None:
            self.gate.drained()
        if self.source is not None:
            self.source.stop()
            self.source = None
        self.drop_file()
