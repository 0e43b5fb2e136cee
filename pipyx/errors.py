"""Reporting errors in user scripts the way a user can act on them: file:line and the message."""
import logging
import os
import sys
import traceback

log = logging.getLogger('pipyx')
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_STDLIB_DIR = os.path.dirname(os.path.abspath(os.__file__))


class ScriptError(Exception):
    """A script is wrong in a way the user must fix: carries the script's file and line."""

    def __init__(self, message, filename=None, lineno=None):
        super().__init__(message)
        self.message, self.filename, self.lineno = message, filename, lineno

    def __str__(self):
        if self.filename and self.lineno:
            where = '%s:%s: ' % (self.filename, self.lineno)
        elif self.filename:
            where = '%s: ' % self.filename
        else:
            where = ''
        return where + self.message


def caller_location():
    """(filename, line) of the innermost frame outside pipyx: the script line that is configuring."""
    f = sys._getframe(1)
    while f is not None and os.path.dirname(os.path.abspath(f.f_code.co_filename)).startswith(_PACKAGE_DIR):
        f = f.f_back
    if f is None:
        return None
    return (f.f_code.co_filename, f.f_lineno)


def _is_user_file(filename):
    if not filename or filename.startswith('<'):
        return False
    if filename.endswith(('.pyx', '.pxi', '.pxd')):
        return False                     # pipyx's own native code
    path = os.path.abspath(filename)
    return not path.startswith(_PACKAGE_DIR) and not path.startswith(_STDLIB_DIR) and 'site-packages' not in path


def user_frame(exc):
    """(filename, line) of the innermost traceback frame in the user's code, or None."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        if _is_user_file(tb.tb_frame.f_code.co_filename):
            found = (tb.tb_frame.f_code.co_filename, tb.tb_lineno)
        tb = tb.tb_next
    return found


def describe(exc, location=None):
    where = user_frame(exc) or location
    text = '%s: %s' % (type(exc).__name__, exc) if str(exc) else type(exc).__name__
    if where:
        return '%s:%s: %s' % (os.path.relpath(where[0]) if not where[0].startswith('<') else where[0], where[1], text)
    return text


def report(exc, location=None):
    """Logs an error raised by user code while a stream runs; with --log-level debug, the whole traceback too."""
    log.error('%s', describe(exc, location))
    if log.isEnabledFor(logging.DEBUG):
        log.debug('%s', ''.join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
