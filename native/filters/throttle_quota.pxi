# The throttle filters that take from an algo.Quota. Each passes its events on unchanged while the quota has enough;
# the event that finds too little waits, with everything behind it, until the quota is produced again. With
# block_input (the default), the connection whose read brought it stops being read meanwhile, so a fast sender is
# slowed down rather than buffered.


cdef class ThrottleQuota(Filter):

    def __init__(self, quota, block_input=True):
        if not isinstance(quota, Quota) and not callable(quota):
            raise TypeError('a throttle takes an algo.Quota or a function returning one, not %s'
                            % type(quota).__name__)
        self.quota_source = quota
        self.block_input = bool(block_input)

    cdef ThrottleQuota copy_into(self, ThrottleQuota f):
        f.quota_source = self.quota_source
        f.block_input = self.block_input
        if isinstance(self.quota_source, Quota):
            f.quota = <Quota>self.quota_source
        return f

    cdef int on_event(self, Event evt) except -1:
        if self.queue is not None:
            self.queue.append(evt)
            if self.gate is not None and self.gate.write_paused:
                self.gate.note_congestion()
            return 0
        if self.quota is None:
            if self.failed:
                return 0
            try:
                q = self.evaluate(self.quota_source)
                if not isinstance(q, Quota):
                    raise TypeError('%s: the quota function returned %s, not an algo.Quota'
                                    % (self.describe(), type(q).__name__))
            except Exception as e:
                self.failed = True
                return self.fail_stream(e)
            self.quota = <Quota>q
        stalled = self.pass_event(evt)
        if stalled is not None:
            self.hold(<Event>stalled)
        return 0

    cdef object pass_event(self, Event evt):
        # Outputs what the quota lets through and returns what must wait (all of evt, or its rest), or None.
        self.output(evt)
        return None

    cdef void hold(self, Event evt):
        self.queue = [evt]
        if self.block_input:
            if self.gate is None:
                self.gate = ThrottleGate.__new__(ThrottleGate)
            self.gate.write_paused = True
            self.gate.note_congestion()
        self.quota.counter.wait(self)

    cdef bint on_quota(self):
        # The quota was produced: what waits goes on until something finds too little again. True when nothing
        # waits any more. Runs from a timer or from whoever produced, so errors end this stream here.
        queue = self.queue
        if queue is None:
            return True
        try:
            while queue:
                stalled = self.pass_event(<Event>queue.pop(0))
                if stalled is not None:
                    queue.insert(0, stalled)
                    return False
        except Exception as e:
            self.queue = None
            self.failed = True
            self.fail_stream(e)
        self.queue = None
        if self.gate is not None:
            self.gate.drained()
        return True

    cdef void shutdown(self):
        if self.queue is not None and self.quota is not None:
            self.quota.counter.forget(self)
        self.queue = None
        if self.gate is not None:
            self.gate.drained()


cdef class ThrottleConcurrency(ThrottleQuota):
    """throttle_concurrency(quota, block_input=True)"""

    cdef Filter clone(self):
        return self.copy_into(ThrottleConcurrency.__new__(ThrottleConcurrency))

    def describe(self):
        return 'throttle_concurrency'

    cdef object pass_event(self, Event evt):
        if not self.active:
            if self.quota.counter.take_whole(1) < 1:
                return evt
            self.active = True
        self.output(evt)
        return None

    cdef void shutdown(self):
        ThrottleQuota.shutdown(self)
        if self.active:
            self.active = False
            # Given back on the next turn of the loop: the stream that takes it starts outside this one's teardown.
            _asyncio.get_event_loop().call_soon(self.quota.produce, 1.0)


cdef class ThrottleDataRate(ThrottleQuota):
    """throttle_data_rate(quota, block_input=True)"""

    cdef Filter clone(self):
        return self.copy_into(ThrottleDataRate.__new__(ThrottleDataRate))

    def describe(self):
        return 'throttle_data_rate'

    cdef object pass_event(self, Event evt):
        cdef Data d, rest
        cdef Py_ssize_t n, got
        if not isinstance(evt, Data):
            self.output(evt)
            return None
        d = <Data>evt
        n = d.nbytes()
        if n == 0:
            self.output(evt)
            return None
        got = self.quota.counter.take_whole(n)
        if got == n:
            self.output(evt)
            return None
        if got == 0:
            return evt
        # The part the quota covers goes now. The Data is split in a copy: whoever gave it may hold it too.
        rest = Data.of_chunks(d.chunks())
        self.output(rest.shift(got))
        return rest


cdef class ThrottleMessageQuota(ThrottleQuota):
    """throttle_message_rate(quota, block_input=True)"""

    cdef Filter clone(self):
        return self.copy_into(ThrottleMessageQuota.__new__(ThrottleMessageQuota))

    def describe(self):
        return 'throttle_message_rate'

    cdef object pass_event(self, Event evt):
        if isinstance(evt, MessageStart) and self.quota.counter.take_whole(1) < 1:
            return evt
        self.output(evt)
        return None
