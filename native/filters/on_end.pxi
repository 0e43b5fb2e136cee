# on_end: the last thing a pipeline does. A pipeline instance ends by being shut down (the connection closed, the
# request answered, the parent stream gone), never by an event alone: a StreamEnd can pass while the far side still
# sends. So the callback hangs on shutdown(), which every owner of a pipeline calls once it lets go of it. First in
# its pipeline (where it usually is), it answers the listener's questions for the filter after it.

cdef class OnEndFilter(Filter):
    """on_end(callback): callback() (or callback(error of the StreamEnd that came in)) runs once when the pipeline
    is shut down; events pass unchanged. See pipyx/filters/on_end.py."""

    def __init__(self, fn, bint takes_arg=False):
        self.fn = fn
        self.takes_arg = takes_arg

    cdef Filter clone(self):
        cdef OnEndFilter f = OnEndFilter.__new__(OnEndFilter)
        f.fn = self.fn
        f.takes_arg = self.takes_arg
        return f

    def describe(self):
        return 'on_end'

    cdef int on_event(self, Event evt) except -1:
        if type(evt) is StreamEnd:
            self.end_error = (<StreamEnd>evt).error
        return self.output(evt)

    cdef int start_early(self) except -1:
        if isinstance(self.next, Filter) and (<Filter>self.next).pipeline is self.pipeline:
            return (<Filter>self.next).start_early()
        return 0

    cdef void drain(self):
        if isinstance(self.next, Filter) and (<Filter>self.next).pipeline is self.pipeline:
            (<Filter>self.next).drain()

    cdef bint busy(self):
        if isinstance(self.next, Filter) and (<Filter>self.next).pipeline is self.pipeline:
            return (<Filter>self.next).busy()
        return False

    cdef bint input_unread(self):
        if isinstance(self.next, Filter) and (<Filter>self.next).pipeline is self.pipeline:
            return (<Filter>self.next).input_unread()
        return True

    cdef object target_address(self):
        if isinstance(self.next, Filter) and (<Filter>self.next).pipeline is self.pipeline:
            return (<Filter>self.next).target_address()
        return None

    cdef void shutdown(self):
        if self.fired:
            return
        self.fired = True
        try:
            r = self.call(self.fn, self.end_error) if self.takes_arg else self.call0(self.fn)
            if is_awaitable(r):
                self.spawn(r, self._awaited)
        except Exception as e:
            report_error(e, self.location)

    def _awaited(self, task):
        if not task.cancelled() and task.exception() is not None:
            report_error(task.exception(), self.location)
