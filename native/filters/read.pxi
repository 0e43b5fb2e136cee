# read: a file's content as a stream of Data, then StreamEnd. The input only starts it (its first event, whatever it
# is) and is dropped. Reading a regular file does not block for long, so the file is read on the loop's thread, a
# piece at a time as the output takes it (StreamSource).

import os as _os
import sys as _sys

DEFAULT_READ_PIECE = 64 * 1024


cdef class ReadFilter(Filter):
    """read(path, piece_size=64 KiB, seek=None, size=None): on the first input event, outputs the file's bytes as Data and a StreamEnd; see
    pipyx/filters/read.py."""

    def __init__(self, path, piece_size=DEFAULT_READ_PIECE, seek=None, size=None):
        self.path = path
        self.piece_size = piece_size
        self.seek = seek
        self.size = size
        if not callable(path) and not isinstance(path, (str, bytes, _os.PathLike)):
            raise TypeError('read() takes a path or a callable returning one, not %s' % type(path).__name__)
        if self.piece_size <= 0:
            raise ValueError('read(): piece_size must be above 0')

    cdef Filter clone(self):
        cdef ReadFilter f = ReadFilter.__new__(ReadFilter)
        f.path = self.path
        f.piece_size = self.piece_size
        f.seek = self.seek
        f.size = self.size
        return f

    def describe(self):
        return 'read(%s)' % ('<callable>' if callable(self.path) else self.path)

    cdef int on_event(self, Event evt) except -1:
        if self.started:
            return 0
        self.started = True
        try:
            path = self.evaluate(self.path)
            if path == '-':
                # Standard input may be a pipe or a terminal that has nothing yet: read it without blocking, and
                # wait for it to be readable (as the event loop does for pipes).
                self.stdin_fd = _sys.stdin.fileno()
                _os.set_blocking(self.stdin_fd, False)
                self.file = open(self.stdin_fd, 'rb', buffering=0, closefd=False)
            else:
                self.file = open(path, 'rb', buffering=0)
            seek = self.evaluate(self.seek)
            size = self.evaluate(self.size)
            if seek:
                self.file.seek(int(seek))
            self.left = int(size) if size is not None else -1
            if self.left < -1:
                raise ValueError('read(): a negative size, %r' % (size,))
        except OSError as e:
            log_warning('pipyx.filter', 'read%s: cannot open %s: %s' % (where(self.location), path, e.strerror))
            return self.output(StreamEnd('ReadError'))
        except Exception as e:
            return self.fail_stream(e)
        self.source = new_stream_source(self, self._read_piece, self._read_done)
        self.source.start()
        return 0

    def _read_piece(self):
        if self.left == 0:
            return False
        try:
            b = self.file.read(self.piece_size if self.left < 0 or self.left > self.piece_size else self.left)
        except OSError as e:
            log_warning('pipyx.filter', 'read%s: %s' % (where(self.location), e))
            self._close_file()
            self.source.stop()
            self.output(StreamEnd('ReadError'))
            return False
        if b is None:                    # standard input has nothing now
            self.source.read_paused = True
            self.waiting = True
            _asyncio.get_event_loop().add_reader(self.stdin_fd, self._readable)
            return True
        if not b:
            return False
        if self.left > 0:
            self.left -= len(b)
        self.output(Data.wrap(b))
        return True

    def _readable(self):
        self._stop_waiting()
        if self.source is not None:
            self.source.read_paused = False
            self.source.start()

    def _stop_waiting(self):
        if self.waiting:
            self.waiting = False
            _asyncio.get_event_loop().remove_reader(self.stdin_fd)

    def _read_done(self):
        self._close_file()
        self.output(StreamEnd())

    def _close_file(self):
        f, self.file = self.file, None
        if f is not None:
            f.close()

    cdef void shutdown(self):
        self._stop_waiting()
        if self.source is not None:
            self.source.stop()
            self.source = None
        self._close_file()
