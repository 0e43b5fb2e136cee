# on_start: the first thing a pipeline does. It comes first in its pipeline, so that an accepted connection's pipeline
# runs it as the connection is made (start_early): a server that speaks first, with a greeting, needs no input.

cdef class OnStartFilter(CallbackFilter):
    """on_start(callback or events): when the pipeline starts, what callback(start argument) returns (or the value
    itself) goes through the pipeline before its first event: an event, a Message, bytes or str, a list of these,
    None, or an awaitable of one (the stream's events wait for it)."""

    def __init__(self, fn, bint takes_arg=True):
        self.fn = fn
        self.takes_arg = takes_arg
        self.kind = K_STREAM_START

    cdef Filter clone(self):
        cdef OnStartFilter f = OnStartFilter.__new__(OnStartFilter)
        f._copy_from(self)
        f.takes_arg = self.takes_arg
        return f

    cdef object invoke(self, object arg):
        if self.takes_arg:
            return self.call(self.fn, arg)
        return self.call0(self.fn)

    cdef int begin(self) except -1:
        self._started = True
        if callable(self.fn):
            return self.run_callback(self.pipeline.start_args if self.pipeline is not None else None, None)
        try:
            return emit_value(self, self.fn)
        except Exception as e:
            return self.fail(e)

    cdef int start_early(self) except -1:
        # The connection was just accepted: the next filter starts too (a connect), then the starting events go.
        if isinstance(self.next, Filter) and (<Filter>self.next).pipeline is self.pipeline:
            (<Filter>self.next).start_early()
        if not self._started:
            self.begin()
        return 0

    cdef int process(self, Event evt) except -1:
        if not self._started:
            self.begin()
            if self._failed:
                return 0
            if self._held is not None:          # the callback's awaitable runs: this event waits behind it
                self._held.append(evt)
                return 0
        return self.output(evt)

    cdef int result(self, object r) except -1:
        return emit_value(self, r)

    def describe(self):
        return 'on_start'
