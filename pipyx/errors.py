"""Reporting errors in user scripts the way a user can act on them: file:line and the message."""
import logging
import os
import traceback

log = logging.getLogger('pipyx')
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_STDLIB_DIR = os.path.dirname(os.path.abspath(os.__file__))


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
