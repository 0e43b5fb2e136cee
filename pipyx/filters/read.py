"""read: a file as a stream of Data."""
from .._native import DEFAULT_READ_PIECE, ReadFilter
from ..builder import PipelineBuilder


class ReadMixin(PipelineBuilder):
    def read(self, path, *, seek=None, size=None, piece_size=DEFAULT_READ_PIECE):
        """At the stream's first event, opens the file at path (a path, '-' for standard input, or a callable
        returning one) and outputs its bytes as Data of up to piece_size bytes, as fast as the output takes them,
        then StreamEnd: from byte `seek` on, `size` bytes at most (values, or callables evaluated per stream).
        Input events only start it and are dropped. A file that cannot be opened or read ends the
        stream with StreamEnd('ReadError'), logged."""
        return self.append(ReadFilter(path, piece_size, seek, size))
