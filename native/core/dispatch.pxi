# Errors in user code, and the read being dispatched: module state with one owner each.

# Set by pipyx.errors: called as reporter(exception, filter_location) for errors in user code.
_error_reporter = None


def set_error_reporter(fn):
    global _error_reporter
    _error_reporter = fn


cdef void report_error(object exc, object location):
    if _error_reporter is not None:
        try:
            _error_reporter(exc, location)
            return
        except Exception:
            pass
    import traceback
    traceback.print_exception(type(exc), exc, exc.__traceback__)


cdef dict _loggers = {}


cdef void log_warning(str logger, str message):
    # For what goes wrong outside user code (a peer, a limit): one line in the named logger, never a traceback.
    lg = _loggers.get(logger)
    if lg is None:
        import logging
        lg = _loggers[logger] = logging.getLogger(logger)
    lg.warning('%s', message)


# The read being pushed through the pipelines. This file owns both variables: the I/O edge says when a read begins
# and ends, encoders ask to be flushed at its end (hold()).
cdef list _held = []                  # encoders holding part of a body until the read that brought it is handled:
cdef Py_ssize_t _nheld = 0            # _held[:_nheld]; the list only grows, as nearly every read holds one
cdef int _dispatching = 0             # reads being pushed through, nested (a read can cause another)


cdef inline void dispatch_begins() noexcept:
    global _dispatching
    _dispatching += 1


cdef void dispatch_ends():
    # The outermost read is done: what encoders held for it goes out now.
    global _dispatching
    _dispatching -= 1
    if _nheld and not _dispatching:
        flush_all_held()


cdef void hold(EventTarget holder):
    # Inside a socket read the holder is flushed when the read is done, unless its message ended by then; outside
    # one (a timer, a task) at the end of this loop turn.
    global _nheld
    if _dispatching:
        if _nheld < len(_held):
            _held[_nheld] = holder
        else:
            _held.append(holder)
        _nheld += 1
    else:
        soon(holder._flush_soon)


cdef void flush_all_held():
    # Outside any read, so a flush that holds again goes to soon(), not here.
    global _nheld
    cdef Py_ssize_t i, n = _nheld
    _nheld = 0
    for i in range(n):
        h = _held[i]
        _held[i] = None
        try:
            (<EventTarget>h).flush_held()
        except Exception as e:
            report_error(e, None)


cdef void soon(object fn):
    # Calls fn at the end of this turn of the event loop; without a running loop (filters driven from a test),
    # nothing is scheduled and what waits for it goes at the message's end.
    try:
        loop = _asyncio.get_running_loop()
    except RuntimeError:
        return
    loop.call_soon(fn)


