# throttle_message_rate: at most `rate` messages a second per key (a client, a tenant, ...), with bursts up to
# `burst`. A message over the quota waits, and so does everything behind it; the connection that sent it stops
# being read until the quota lets the message go, so a fast sender is slowed down rather than buffered.

cdef class RateBucket:
    """The tokens of one key: refilled at rate per second up to burst."""

    cdef double take(self, double t):
        # Takes a token and returns 0, or returns how long to wait for one.
        self.tokens = min(self.burst, self.tokens + (t - self.stamp) * self.rate)
        self.stamp = t
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


cdef class ThrottleShared:

    cdef RateBucket bucket(self, object k, double t):
        b = self.buckets.get(k)
        if b is None:
            if len(self.buckets) > 100000:
                self.forget_full(t)
            b = RateBucket.__new__(RateBucket)
            (<RateBucket>b).rate = self.rate
            (<RateBucket>b).burst = self.burst
            (<RateBucket>b).tokens = self.burst
            (<RateBucket>b).stamp = t
            self.buckets[k] = b
        return <RateBucket>b

    cdef void forget_full(self, double t):
        # Keys whose bucket has filled up again are as good as new: drop them so the table stays bounded.
        full = [k for k, b in self.buckets.items()
                if (<RateBucket>b).tokens + (t - (<RateBucket>b).stamp) * self.rate >= self.burst]
        for k in full:
            del self.buckets[k]


cdef class ThrottleGate(Endpoint):
    # Congested while a message waits for its token: the reader that brought it pauses until the gate opens.
    pass


cdef class ThrottleMessageRate(Filter):
    """throttle_message_rate(rate, burst=None, key=None, match=None)"""

    def __init__(self, double rate, burst=None, key=None, match=None):
        if rate <= 0:
            raise ValueError('rate must be above 0 messages a second')
        self.shared = ThrottleShared.__new__(ThrottleShared)
        self.shared.rate = rate
        self.shared.burst = max(1.0, float(burst) if burst is not None else rate)
        self.shared.key = key
        self.shared.match = match
        self.shared.buckets = {}

    cdef Filter clone(self):
        cdef ThrottleMessageRate f = ThrottleMessageRate.__new__(ThrottleMessageRate)
        f.shared = self.shared
        return f

    def describe(self):
        return 'throttle_message_rate(%g/s)' % self.shared.rate

    cdef int on_event(self, Event evt) except -1:
        if self.queue is not None:
            self.queue.append(evt)
            if self.gate.write_paused:
                self.gate.note_congestion()
            return 0
        if isinstance(evt, MessageStart):
            return self.admit(<MessageStart>evt)
        return self.output(evt)

    cdef int admit(self, MessageStart evt) except -1:
        cdef double wait
        if self.shared.match is not None and not self.call(self.shared.match, evt.head):
            return self.output(evt)
        if not self.key_known:
            # The key is evaluated at the first message, when a codec before this filter has seen the stream start.
            self.key_value = self.evaluate(self.shared.key)
            self.key_known = True
        wait = self.shared.bucket(self.key_value, now()).take(now())
        if wait == 0.0:
            return self.output(evt)
        self.queue = [evt]
        if self.gate is None:
            self.gate = ThrottleGate.__new__(ThrottleGate)
        self.gate.write_paused = True
        self.gate.note_congestion()
        self.timer = _asyncio.get_event_loop().call_later(wait, self._release)
        return 0

    def _release(self):
        self.timer = None
        try:
            self.release()
        except Exception as e:
            self.queue = None
            self.fail_stream(e)

    cdef int release(self) except -1:
        # Events go out until a message that finds no token; the first queued message is one that found none.
        cdef Py_ssize_t i = 0
        cdef double wait
        queue = self.queue
        if queue is None:
            return 0
        while i < len(queue):
            evt = queue[i]
            if isinstance(evt, MessageStart) and (self.shared.match is None or
                                                   self.call(self.shared.match, (<MessageStart>evt).head)):
                wait = self.shared.bucket(self.key_value, now()).take(now())
                if wait > 0.0:
                    self.queue = queue[i:]
                    self.timer = _asyncio.get_event_loop().call_later(wait, self._release)
                    return 0
            self.output(<Event>evt)
            i += 1
        self.queue = None
        self.gate.drained()
        return 0

    cdef void shutdown(self):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.queue = None
        if self.gate is not None:
            self.gate.drained()
