# dummy: a sink that still lets the stream end, so that what it ends downstream (a connection, a response) does.

cdef class DummyFilter(Filter):
    """dummy(): drops every event except StreamEnd."""

    cdef Filter clone(self):
        return DummyFilter.__new__(DummyFilter)

    cdef int on_event(self, Event evt) except -1:
        if isinstance(evt, StreamEnd):
            return self.output(evt)
        return 0

    def describe(self):
        return 'dummy'
