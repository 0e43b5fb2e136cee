"""Static files and HTTP caching: Directory (a folder served as a serve_http handler, with a memory cache),
ResponseCache (a reverse proxy's cache of upstream responses). The filter methods serve_files() and proxy_cache()
(pipyx/filters/) are built on them. See docs/files.md."""
from .cache import Entry, FileCache, Variant
from .directory import Directory
from .mime import MIME_TYPES, MimeTable, is_compressible, is_text
from .proxy_cache import ResponseCache

__all__ = ['Directory', 'FileCache', 'Entry', 'Variant', 'ResponseCache', 'MIME_TYPES', 'MimeTable',
           'is_compressible', 'is_text']
