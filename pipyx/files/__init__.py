"""Static files and HTTP caching: Directory (a folder served as a serve_http handler, with a memory cache),
ResponseCache (a reverse proxy's cache of upstream responses), and the filter methods serve_files() and
proxy_cache() built on them. See docs/files.md."""
import importlib as _importlib

from .cache import Entry, FileCache, Variant
from .directory import Directory
from .mime import MIME_TYPES, MimeTable, is_compressible, is_text
from .proxy_cache import ResponseCache

# Importing pipyx.files makes serve_files() and proxy_cache() methods of the script builder.
_importlib.import_module('pipyx.filters.serve_files')
_importlib.import_module('pipyx.filters.proxy_cache')

__all__ = ['Directory', 'FileCache', 'Entry', 'Variant', 'ResponseCache', 'MIME_TYPES', 'MimeTable',
           'is_compressible', 'is_text']
