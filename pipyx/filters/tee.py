"""tee: a copy of the stream's bytes in a file."""
from .._native import DEFAULT_TEE_MAX_SIZE, TeeFilter
from ..builder import PipelineBuilder


class TeeMixin(PipelineBuilder):
    def tee(self, path, *, append=False, max_size=DEFAULT_TEE_MAX_SIZE):
        """Writes every Data of the stream to the file at path (a path, '-' for standard output, or a callable
        returning one, evaluated at the first Data), truncating it first unless append; its directories are made
        when missing. The events pass on unchanged. The copy stops (logged once) before it would pass max_size
        bytes (default 1 GiB) or when the file cannot be written; the stream goes on either way. The file is closed
        at StreamEnd."""
        return self.append(TeeFilter(path, append, max_size))
