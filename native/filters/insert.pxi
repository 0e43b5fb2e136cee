# insert: events put into the stream ahead of its first event, from this filter on (on_start puts them through the
# whole pipeline, from its start).

cdef class InsertFilter(CallbackFilter):
    """insert(events or callable): when the stream's first event arrives, what callable() returns (or the value
    itself) goes out before it: an event, a Message, bytes or str, a list of these, None, or an awaitable of one."""

    def __init__(self, fn):
        self.fn = fn
        self.kind = K_STREAM_START

    cdef Filter clone(self):
        cdef InsertFilter f = InsertFilter.__new__(InsertFilter)
        f._copy_from(self)
        return f

    cdef object invoke(self, object arg):
        return self.call0(self.fn)

    cdef int process(self, Event evt) except -1:
        if self._started:
            return self.output(evt)
        self._started = True
        if callable(self.fn):
            return self.run_callback(None, evt)
        try:
            emit_value(self, self.fn)
        except Exception as e:
            return self.fail(e)
        return self.output(evt)

    cdef int result(self, object r) except -1:
        return emit_value(self, r)

    def describe(self):
        return 'insert'
