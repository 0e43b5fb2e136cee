# tee: a copy of every Data written to a file (like the command), the events passing on unchanged. Writes to a
# regular file go straight to the kernel's page cache, so they are made on the loop's thread, unbuffered. What would
# take the file past max_size is not written: the copy stops there (logged once) and the stream goes on.

DEFAULT_TEE_MAX_SIZE = 1024 * 1024 * 1024


cdef class TeeFilter(Filter):
    """tee(path, *, append=False, max_size=1 GiB): writes the stream's Data to the file; see pipyx/filters/tee.py."""

    def __init__(self, path, append=False, max_size=DEFAULT_TEE_MAX_SIZE):
        if not callable(path) and not isinstance(path, (str, bytes, _os.PathLike)):
            raise TypeError('tee() takes a path or a callable returning one, not %s' % type(path).__name__)
        self.path = path
        self.append = bool(append)
        self.max_size = int(max_size) if max_size is not None else DEFAULT_TEE_MAX_SIZE
        if self.max_size <= 0:
            raise ValueError('tee(): max_size must be above 0')

    cdef Filter clone(self):
        cdef TeeFilter f = TeeFilter.__new__(TeeFilter)
        f.path = self.path
        f.append = self.append
        f.max_size = self.max_size
        return f

    def describe(self):
        return 'tee(%s)' % ('<callable>' if callable(self.path) else self.path)

    cdef int on_event(self, Event evt) except -1:
        cdef Data d
        cdef Py_ssize_t i
        if isinstance(evt, Data) and not self.done:
            d = <Data>evt
            if self.file is None:
                try:
                    path = self.evaluate(self.path)
                    if path == '-':
                        self.file = open(_sys.stdout.fileno(), 'wb', buffering=0, closefd=False)
                    else:
                        path = _os.fspath(path)
                        parent = _os.path.dirname(path)
                        if parent:
                            _os.makedirs(parent, exist_ok=True)
                        self.file = open(path, 'ab' if self.append else 'wb', buffering=0)
                except OSError as e:
                    self.done = True
                    log_warning('pipyx.filter', 'tee%s: cannot write %s: %s; the stream goes on without a copy'
                                % (where(self.location), path, e.strerror))
                    return self.output(evt)
                except Exception as e:
                    self.done = True
                    return self.fail_stream(e)
            if self.written + d.nbytes() > self.max_size:
                self.done = True
                self.close_file()
                log_warning('pipyx.filter', 'tee%s: the copy reached max_size (%d bytes); the rest is not written'
                            % (where(self.location), self.max_size))
            else:
                try:
                    for i in range(d.chunk_count()):
                        c = d.chunk_at(i)
                        self.file.write(bytes(c) if type(c) is FileChunk else c)
                    self.written += d.nbytes()
                except OSError as e:
                    self.done = True
                    self.close_file()
                    log_warning('pipyx.filter', 'tee%s: %s; the rest is not written' % (where(self.location), e))
        elif isinstance(evt, StreamEnd):
            self.close_file()
        return self.output(evt)

    cdef void close_file(self):
        f, self.file = self.file, None
        if f is not None:
            try:
                f.close()
            except OSError:
                pass

    cdef void shutdown(self):
        self.close_file()
