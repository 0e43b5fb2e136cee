# repeat: the stream is recorded as it goes into a sub-pipeline; when that sub-pipeline ends and the condition holds,
# a new instance gets the recording (and whatever follows), and its output goes on from here. replay.pxi builds on it.

import functools as _functools

cdef class RepeatFilter(Filter):
    """repeat(condition): sends the stream through the sub-pipeline; when it ends, condition(StreamEnd) decides
    whether a new instance runs the recorded stream again (true) or the end goes on (false). The condition may
    return an awaitable. Input past buffer_limit bytes is not recorded: asking to run again then ends the stream
    with BufferOverflow."""

    def __init__(self, LayoutRef target, condition, buffer_limit=DEFAULT_BUFFER_LIMIT):
        self.target = target
        self.condition = condition
        self.buffer_limit = buffer_limit

    cdef void _copy_from(self, RepeatFilter p):
        self.target, self.condition, self.buffer_limit = p.target, p.condition, p.buffer_limit

    cdef Filter clone(self):
        cdef RepeatFilter f = RepeatFilter.__new__(RepeatFilter)
        f._copy_from(self)
        return f

    def sub_layouts(self):
        return (self.target,)

    cdef int on_event(self, Event evt) except -1:
        if self.ended:
            return 0
        if self.out is None:                     # the stream's first event
            self.recorded = new_event_buffer(self.buffer_limit)
            self.start_run()
        if self.recorded is not None and not self.recorded.push(evt):
            self.recorded = None                 # too much to run again: the stream goes on without a recording
        if self.sub is not None:                 # else a run is scheduled: it will get the recording
            self.sub.on_event(copy_event(evt))
        return 0

    cdef int start_run(self) except -1:
        cdef RepeatOutput out = RepeatOutput.__new__(RepeatOutput)
        out.owner, out.active = self, True
        self.out = out
        self.sub = self.sub_pipeline(self.target, out)
        return 0

    def _run_again(self):
        # A new run, from the event loop: the recording goes into a new instance of the sub-pipeline.
        self.handle = None
        if self.ended:
            return
        dispatch_begins()
        try:
            self.runs += 1
            self.start_run()
            for e in list(self.recorded.events):
                if self.sub is None or self.ended:
                    break
                self.sub.on_event(copy_event(<Event>e))
        except Exception as e:
            self.shutdown()
            self.fail_stream(e)
        finally:
            dispatch_ends()

    cdef int on_sub_output(self, Event evt) except -1:
        if isinstance(evt, StreamEnd):
            # This run is over: its later output (if any) is not the stream's.
            self.out.active = False
            old, self.sub = self.sub, None
            _asyncio.get_event_loop().call_soon(old.close)    # not now: it is still on the stack, outputting this
            return self.on_sub_end(<StreamEnd>evt)
        return self.output(evt)

    cdef int on_sub_end(self, StreamEnd evt) except -1:
        try:
            again = self.call(self.condition, evt)
        except Exception as e:
            self.ended = True
            return self.fail_stream(e)
        if is_awaitable(again):
            self.spawn(again, _functools.partial(self._awaited, evt))
            return 0
        return self.decided(again, evt)

    def _awaited(self, evt, task):
        if self.ended or task.cancelled():
            return
        dispatch_begins()
        try:
            self.decided(task.result(), evt)
        except Exception as e:
            self.ended = True
            self.fail_stream(e)
        finally:
            dispatch_ends()

    cdef int decided(self, object again, StreamEnd evt) except -1:
        if not again:
            return self.finish(evt)
        if self.recorded is None:
            return self.finish_overflow()
        return self.schedule(0)

    def finish_overflow(self):
        self.ended = True
        return overflow_stream(self, 'cannot run the stream again: it was over buffer_limit (%d bytes)'
                               % self.buffer_limit)

    cdef int schedule(self, double delay) except -1:
        # Never at once: the sub-pipeline that ended is still on the stack.
        loop = _asyncio.get_event_loop()
        self.handle = loop.call_later(delay, self._run_again) if delay > 0 else loop.call_soon(self._run_again)
        return 0

    cdef int finish(self, Event evt) except -1:
        self.ended = True
        self.recorded = None
        return self.output(evt)

    cdef void shutdown(self):
        self.ended = True
        self.recorded = None
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None
        if self.out is not None:
            self.out.active = False
            self.out = None                      # it points back at this filter
        if self.sub is not None:
            old, self.sub = self.sub, None
            old.shutdown()

    def describe(self):
        return 'repeat'


cdef class RepeatOutput(EventTarget):
    cdef int on_event(self, Event evt) except -1:
        if self.active:
            return self.owner.on_sub_output(evt)
        return 0
