"""How a pipyx process logs, whether it runs a script or the repo server: the level, the line format, and where
errors raised in user callbacks go."""
import logging
import sys

# --log-level's choices, and the logging level each stands for.
LEVELS = {'debug': logging.DEBUG, 'info': logging.INFO, 'warn': logging.WARNING, 'error': logging.ERROR}


def setup_logging(level):
    """Logs to standard error from `level` (one of LEVELS) up, and reports errors in callbacks through the log."""
    logging.basicConfig(level=LEVELS[level], format='%(asctime)s pipyx[%(process)d] %(levelname)s %(message)s',
                        datefmt='%Y-%m-%d %H:%M:%S', stream=sys.stderr)
    from . import errors, _native
    _native.set_error_reporter(errors.report)
