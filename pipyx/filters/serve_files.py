"""serve_files: a static site, with conditional and range requests, compression and a memory cache."""
import inspect
import os

from ..errors import ScriptError, caller_location
from ..files.directory import Directory
from .serve_http import ServeHttpMixin

_LIMITS = ('max_header_size', 'max_header_count', 'max_line_size', 'max_body_size')
_DIRECTORY_OPTIONS = tuple(p for p in inspect.signature(Directory).parameters if p != 'root')


class ServeFilesMixin(ServeHttpMixin):
    def serve_files(self, root, **options):
        """Serves the files under root (relative to the script's directory) to GET and HEAD requests, as serve_http
        with a Directory(root, **options).serve handler: Content-Type, ETag and Last-Modified, 304s, ranges, gzip
        and brotli, an LRU memory cache of small files. The options are Directory's (see docs/files.md) and
        serve_http's limits."""
        unknown = sorted(set(options) - set(_DIRECTORY_OPTIONS) - set(_LIMITS))
        if unknown:
            raise ScriptError('serve_files(): unknown option%s %s (options: %s)' % (
                's' if len(unknown) > 1 else '', ', '.join(unknown), ', '.join(_DIRECTORY_OPTIONS + _LIMITS)),
                *caller_location())
        limits = {k: options.pop(k) for k in _LIMITS if k in options}
        path = os.fspath(root)
        if not os.path.isabs(path) and self._module.filename and not self._module.filename.startswith('<'):
            path = os.path.join(os.path.dirname(self._module.filename), path)
        try:
            directory = Directory(path, **options)
        except (TypeError, ValueError) as e:
            raise ScriptError('serve_files(): %s' % e, *caller_location())
        return self.serve_http(directory.serve, **limits)
