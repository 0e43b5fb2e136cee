"""deposit_message: a large message body held in a file instead of memory."""
from .._native import DEFAULT_DEPOSIT_MAX_SIZE, DEFAULT_DEPOSIT_THRESHOLD, DepositMessageFilter
from ..builder import PipelineBuilder


class DepositMessageMixin(PipelineBuilder):
    def deposit_message(self, path=None, *, threshold=DEFAULT_DEPOSIT_THRESHOLD, max_size=DEFAULT_DEPOSIT_MAX_SIZE,
                        keep=False, directory=None):
        """Passes each message's body on up to `threshold` bytes (default 1 MiB) at once, and spools the rest to
        a file: at the message's end the file is read back and passed on, a piece at a time as the output takes
        it, then the MessageEnd. Events that come meanwhile wait behind it, in order, and the connection they come
        from is not read until then. path is the file (a path or a callable returning one, evaluated per message);
        without it, a temporary file in `directory` (default: the system's). The file is removed once passed on (unless keep) and when the stream ends first. A body whose
        spool would pass max_size bytes (default 1 GiB) ends the stream with StreamEnd('BufferOverflow'); a file
        that cannot be written, with StreamEnd('WriteError'). path may also be a dict of these options."""
        if isinstance(path, dict):
            options = dict(path)
            path = options.pop('path', None)
            unknown = set(options) - {'threshold', 'max_size', 'keep', 'directory'}
            if unknown:
                raise TypeError('deposit_message(): unknown option(s) %s' % ', '.join(sorted(unknown)))
            threshold = options.get('threshold', threshold)
            max_size = options.get('max_size', max_size)
            keep = options.get('keep', keep)
            directory = options.get('directory', directory)
        return self.append(DepositMessageFilter(path, threshold, max_size, keep, directory))
