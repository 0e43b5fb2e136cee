# produce: a stream made by a callback. At the first input event (which, like all input, is dropped) the callback is
# called, and called again after what it returned has gone out, until it returns None (the stream ends) or a
# StreamEnd. It runs a few times per turn of the event loop, and not while the output is congested (StreamSource);
# an awaitable it returns is waited for before the next call.

cdef class ProduceFilter(Filter):
    """produce(callback): outputs what callback() returns, again and again, until it returns None."""

    def __init__(self, producer):
        if not callable(producer):
            raise TypeError('produce() needs a callable')
        self.producer = producer

    cdef Filter clone(self):
        cdef ProduceFilter f = ProduceFilter.__new__(ProduceFilter)
        f.producer = self.producer
        return f

    def describe(self):
        return 'produce'

    cdef int on_event(self, Event evt) except -1:
        if self.started:
            return 0
        self.started = True
        self.source = new_stream_source(self, self._produce_once, None)
        self.source.start()
        return 0

    def _produce_once(self):
        r = self.call0(self.producer)
        if is_awaitable(r):
            self.source.read_paused = True
            self.spawn(r, self._produced)
            return True
        return self.take(r) == 0

    def _produced(self, task):
        if self.ended or self.source is None or task.cancelled():
            return
        dispatch_begins()
        try:
            r = task.result()
            if self.take(r) == 0:
                self.source.read_paused = False
                self.source.start()
        except Exception as e:
            self.ended = True
            self.source.stop()
            self.fail_stream(e)
        finally:
            dispatch_ends()

    cdef int take(self, object r) except -1:
        # Returns 0 to go on, 1 once the stream has ended.
        if r is None:
            self.ended = True
            self.source.stop()
            self.output(StreamEnd())
            return 1
        if isinstance(r, (list, tuple)):
            for x in r:
                if self._take_one(x):
                    return 1
            return 0
        return self._take_one(r)

    def _take_one(self, x):
        if x is None:
            return 0
        emit_value(self, x)
        if isinstance(x, StreamEnd):
            self.ended = True
            self.source.stop()
            return 1
        return 0

    cdef void shutdown(self):
        self.ended = True
        if self.source is not None:
            self.source.stop()
            self.source = None
