# loop: the sub-pipeline's output goes on, and back into its own input. Output made while an event is being pushed in
# waits for the next turn of the event loop, so a pipeline that answers itself goes round once per turn instead of
# recursing.

cdef class LoopFilter(Filter):
    """loop(): the stream goes into a sub-pipeline; everything it outputs goes on from here and is fed back into it."""

    def __init__(self, LayoutRef target, buffer_limit=DEFAULT_BUFFER_LIMIT):
        self.target = target
        self.buffer_limit = buffer_limit

    cdef Filter clone(self):
        cdef LoopFilter f = LoopFilter.__new__(LoopFilter)
        f.target, f.buffer_limit = self.target, self.buffer_limit
        return f

    def sub_layouts(self):
        return (self.target,)

    cdef int on_event(self, Event evt) except -1:
        cdef LoopOutput out
        if self.dead:
            return 0
        if self.sub is None:
            out = LoopOutput.__new__(LoopOutput)
            out.owner = self
            self.sub = self.sub_pipeline(self.target, out)
            self.pending = new_event_buffer(self.buffer_limit)
        return self.feed(evt)

    cdef int feed(self, Event evt) except -1:
        if self.sub is None:
            return 0
        self.inputting = True
        try:
            self.sub.on_event(evt)
        finally:
            self.inputting = False
        return 0

    cdef int on_sub_output(self, Event evt) except -1:
        if self.dead:
            return 0
        if self.inputting:
            if not self.pending.push(evt):
                self.shutdown()
                return overflow_stream(self, 'more than buffer_limit (%d bytes) output in one turn'
                                       % self.buffer_limit)
            if self.flush_handle is None:
                self.flush_handle = _asyncio.get_event_loop().call_soon(self._turn)
            return 0
        self.output(evt)
        return self.feed(copy_event(evt))

    def _turn(self):
        self.flush_handle = None
        if self.dead or self.sub is None:
            return
        events = self.pending.events
        self.pending.clear()
        dispatch_begins()
        try:
            for e in events:
                if self.dead:
                    break
                self.output(<Event>e)
                self.feed(copy_event(<Event>e))
        except Exception as e:
            self.shutdown()
            self.fail_stream(e)
        finally:
            dispatch_ends()

    cdef void shutdown(self):
        self.dead = True
        if self.flush_handle is not None:
            self.flush_handle.cancel()
            self.flush_handle = None
        # The sub-pipeline outputs back into this filter: letting go of it breaks that cycle.
        sub, self.sub = self.sub, None
        if sub is not None:
            sub.shutdown()

    def describe(self):
        return 'loop'


cdef class LoopOutput(EventTarget):
    cdef int on_event(self, Event evt) except -1:
        return self.owner.on_sub_output(evt)
