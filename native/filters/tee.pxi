# tee: a copy of every Data written to a file (like the command), the events passing on unchanged. Writes to a
# regular file go straight to the kernel's page cache, so they are made on the loop's thread, unbuffered. What would
# take the file past max_size is not written: the copy stops there (logged once) and the stream goes on.
#
# Rotation, as Pipy's: before a write that would take the file past max_file_size, or once the file is older than
# rotate_interval, the file is renamed with the local time it was started in front of its name
# (2026-12-03-20-01-10-123-access.log: milliseconds too, so that files rotated within a second keep their order),
# a new one is started, and beyond max_file_count the oldest rotated files are removed. With shared=True every tee
# of the process that names the same path writes into one TeeTarget: one file for all streams (an access log).

import time as _tee_time

DEFAULT_TEE_MAX_SIZE = 1024 * 1024 * 1024
cdef dict _shared_tee_targets = {}


cdef class TeeTarget:
    """The file a tee writes, rotated by size, age and count."""

    cdef int open(self) except -1:
        if self.path == '-':
            self.file = open(_sys.stdout.fileno(), 'wb', buffering=0, closefd=False)
            return 0
        parent = _os.path.dirname(self.path)
        if parent:
            _os.makedirs(parent, exist_ok=True)
        self.file = open(self.path, 'ab' if self.append else 'wb', buffering=0)
        self.append = True                       # truncated once: opened again (after a rotation), it is added to
        self.file_size = _os.fstat(self.file.fileno()).st_size
        self.file_time = _tee_time.time()
        return 0

    cdef int write(self, Data d) except -1:
        cdef Py_ssize_t i, n = d.nbytes()
        if self.file is None:
            self.open()
        if self.path != '-' and self.file_size > 0 and (
                (self.max_file_size > 0 and self.file_size + n > self.max_file_size) or
                (self.rotate_interval > 0 and _tee_time.time() - self.file_time >= self.rotate_interval)):
            self.rotate()
        for i in range(d.chunk_count()):
            c = d.chunk_at(i)
            self.file.write(bytes(c) if type(c) is FileChunk else c)
        self.file_size += n
        return 0

    cdef int rotate(self) except -1:
        self.close()
        directory, base = _os.path.split(self.path)
        t = self.file_time
        ms = int((t - int(t)) * 1000)
        stamp = _tee_time.strftime('%Y-%m-%d-%H-%M-%S', _tee_time.localtime(t))
        name = '%s-%03d-%s' % (stamp, ms, base)
        # Rotated twice in a millisecond: the next name must still sort after the last (which pruning may have
        # removed by now, so its not existing proves nothing).
        while (self.last_rotated is not None and name <= self.last_rotated) or \
                _os.path.exists(_os.path.join(directory, name)):
            ms += 1
            name = '%s-%03d-%s' % (stamp, ms, base)
        _os.rename(self.path, _os.path.join(directory, name))
        self.last_rotated = name
        if self.max_file_count > 0:
            suffix = '-' + base
            old = sorted(name for name in _os.listdir(directory or '.')
                         if name.endswith(suffix) and name[:4].isdigit())
            for name in old[:max(0, len(old) - self.max_file_count)]:
                try:
                    _os.unlink(_os.path.join(directory, name))
                except OSError:
                    pass
        return self.open()

    cdef void close(self):
        f, self.file = self.file, None
        if f is not None:
            try:
                f.close()
            except OSError:
                pass


cdef TeeTarget new_tee_target(TeeFilter f, str path):
    cdef TeeTarget t = TeeTarget.__new__(TeeTarget)
    t.path = path
    t.append = f.append
    t.max_file_size = f.max_file_size
    t.max_file_count = f.max_file_count
    t.rotate_interval = f.rotate_interval
    return t


cdef class TeeFilter(Filter):
    """tee(path, *, append=False, max_size=1 GiB): writes the stream's Data to the file; see pipyx/filters/tee.py."""

    def __init__(self, path, append=False, max_size=DEFAULT_TEE_MAX_SIZE, shared=False, max_file_size=None,
                 max_file_count=None, rotate_interval=None):
        if not callable(path) and not isinstance(path, (str, bytes, _os.PathLike)):
            raise TypeError('tee() takes a path or a callable returning one, not %s' % type(path).__name__)
        self.path = path
        self.append = bool(append)
        self.max_size = int(max_size) if max_size is not None else DEFAULT_TEE_MAX_SIZE
        if self.max_size <= 0:
            raise ValueError('tee(): max_size must be above 0')
        self.shared = bool(shared)
        self.max_file_size = int(max_file_size or 0)
        self.max_file_count = int(max_file_count or 0)
        self.rotate_interval = float(rotate_interval or 0)
        if self.max_file_size < 0 or self.max_file_count < 0 or self.rotate_interval < 0:
            raise ValueError('tee(): max_file_size, max_file_count and rotate_interval must not be negative')

    cdef Filter clone(self):
        cdef TeeFilter f = TeeFilter.__new__(TeeFilter)
        f.path = self.path
        f.append = self.append
        f.max_size = self.max_size
        f.shared = self.shared
        f.max_file_size = self.max_file_size
        f.max_file_count = self.max_file_count
        f.rotate_interval = self.rotate_interval
        return f

    def describe(self):
        return 'tee(%s)' % ('<callable>' if callable(self.path) else self.path)

    cdef int on_event(self, Event evt) except -1:
        cdef Data d
        if isinstance(evt, Data) and not self.done:
            d = <Data>evt
            if self.target is None:
                path = None
                try:
                    path = self.evaluate(self.path)
                    path = _os.fsdecode(path)
                    if path != '-':
                        path = _os.path.abspath(path)
                    if self.shared:
                        self.target = _shared_tee_targets.get(path)
                        if self.target is None:
                            self.target = _shared_tee_targets[path] = new_tee_target(self, path)
                    else:
                        self.target = new_tee_target(self, path)
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
                    self.target.write(d)
                    self.written += d.nbytes()
                except OSError as e:
                    self.done = True
                    path = self.target.path
                    self.close_file()
                    log_warning('pipyx.filter', 'tee%s: cannot write %s: %s; the stream goes on without a copy'
                                % (where(self.location), path, e.strerror or e))
        elif isinstance(evt, StreamEnd):
            self.close_file()
        return self.output(evt)

    cdef void close_file(self):
        # A shared file stays open for the other streams (and the next ones).
        t, self.target = self.target, None
        if t is not None and not self.shared:
            t.close()

    cdef void shutdown(self):
        self.close_file()
