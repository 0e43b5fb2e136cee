"""tee: a copy of the stream's bytes in a file."""
from .._native import DEFAULT_TEE_MAX_SIZE, TeeFilter
from ..builder import PipelineBuilder


class TeeMixin(PipelineBuilder):
    def tee(self, path, *, append=False, max_size=DEFAULT_TEE_MAX_SIZE, shared=False, max_file_size=None,
            max_file_count=None, rotate_interval=None):
        """Writes every Data of the stream to the file at path (a path, '-' for standard output, or a callable
        returning one, evaluated at the first Data), truncating it first unless append; its directories are made
        when missing. The events pass on unchanged. The copy stops (logged once) before this stream would pass
        max_size bytes (default 1 GiB) or when the file cannot be written; the stream goes on either way. The file
        is closed at StreamEnd.

        shared: every tee(shared=True) of the worker naming the same path writes one file, opened once and kept
        open (an access log for all streams); with several workers, give each its own path (pipyx.worker_index).
        Rotation, as Pipy's: max_file_size (bytes) starts a new file before a write would take the file past it;
        rotate_interval (seconds) starts one when the file is that old; the file before is renamed with the local
        time it was started in front of its name (2026-12-03-20-01-10-123-access.log); max_file_count keeps that
        many rotated files and removes older ones (default: all are kept)."""
        return self.append(TeeFilter(path, append, max_size, shared, max_file_size, max_file_count,
                                     rotate_interval))
