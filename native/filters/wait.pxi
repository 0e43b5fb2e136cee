# wait: holds the stream until a condition holds.

cdef class WaitFilter(Filter):
    """wait(condition, timeout=None): holds the stream's events until condition() is true, then lets them all go.
    The condition is checked on every event and every few milliseconds; on timeout the stream ends."""

    def __init__(self, condition, timeout=None):
        self.condition = condition
        self.timeout = timeout

    cdef Filter clone(self):
        cdef WaitFilter f = WaitFilter.__new__(WaitFilter)
        f.condition, f.timeout = self.condition, self.timeout
        return f

    cdef int on_event(self, Event evt) except -1:
        if self.dead:
            return 0
        if self.open:
            return self.output(evt)
        if self.held is None:
            self.held = []
            self.deadline = now() + float(self.timeout) if self.timeout is not None else -1
        self.held.append(evt)
        return self.check()

    cdef int check(self) except -1:
        try:
            ready = self.evaluate(self.condition)
        except Exception as e:
            self.stop()
            return self.fail_stream(e)
        if ready:
            self.open = True
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None
            held, self.held = self.held, None
            for e in held:
                self.output(e)
        elif self.timer is None:
            self.timer = _asyncio.get_event_loop().call_later(0.005, self._poll)
        return 0

    cdef void stop(self):
        self.dead = True
        self.held = None
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _poll(self):
        self.timer = None
        if self.open or self.dead or self.held is None:
            return
        try:
            if self.deadline >= 0 and now() >= self.deadline:
                self.stop()
                self.output(StreamEnd('ReadTimeout'))
                return
            self.check()
        except Exception as e:
            self.stop()
            self.fail_stream(e)

    cdef void shutdown(self):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
