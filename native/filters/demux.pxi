# demux: every message of a stream gets a sub-pipeline of its own, and what those output leaves in the order of the
# messages: a slot's output is held until the slots ahead of it are done. How many messages a sub-pipeline outputs is
# output_count: 1 for request and answer, 0 for a one-way message (nothing awaited, nothing held behind it), more for
# a request answered in several messages. Past max_queue messages awaiting their output, the input waits here and
# the connection it came from stops being read until the oldest are done.

cdef class InputGate(Endpoint):
    """Congested while a filter holds input it will not take yet: the endpoint whose read brought that input pauses
    its reading until the gate opens."""

    cdef void close_gate(self):
        self.write_paused = True
        self.note_congestion()

    cdef void open_gate(self):
        if self.write_paused:
            self.drained()


cdef class DemuxSlot(EventTarget):
    """One message's place in the output order; its sub-pipeline outputs into it."""

    cdef int on_event(self, Event evt) except -1:
        cdef Pipeline p
        if self.done:
            return 0
        if isinstance(evt, MessageStart):
            if not self.in_message:
                self.in_message = True
                return self.give(evt)
        elif isinstance(evt, Data):
            if self.in_message:
                return self.give(evt)
        elif isinstance(evt, MessageEnd):
            if self.in_message:
                self.in_message = False
                self.give(evt)
                self.expected -= 1
                if self.expected <= 0:
                    return self.finish(None)
        elif isinstance(evt, StreamEnd):
            # The sub-pipeline ended: a message it left open ends here; short of its outputs, its end is the
            # stream's (the messages after it cannot be answered in their order).
            if self.in_message:
                self.in_message = False
                self.give(new_end())
                self.expected -= 1
            p, self.sub = self.sub, None
            if p is not None:
                p.shutdown()
            return self.finish(None if self.expected <= 0 else evt)
        return 0

    cdef int give(self, Event evt) except -1:
        cdef Demux d = self.owner
        if d is None:
            return 0
        if d.oldest is self:
            return d.output(evt)
        if self.held is None:
            self.held = []
        self.held.append(evt)
        return 0

    cdef int finish(self, object error) except -1:
        cdef Demux d = self.owner
        self.done = True
        self.error = error
        if d is None:
            return 0
        if self.input_done and self.sub is not None:
            d.end_sub(self, None)
        if d.oldest is self:
            return d.advance()
        return 0


cdef class Demux(Filter):
    """demux(output_count=1, max_queue=256): a sub-pipeline per message (from .to(...)); their outputs go out in
    the order of the messages."""

    def __init__(self, LayoutRef target, output_count=1, int max_queue=256):
        if not callable(output_count) and not isinstance(output_count, int):
            raise TypeError('output_count is an int or a callable given the MessageStart, not %s'
                            % type(output_count).__name__)
        self.target = target
        self.output_count = output_count
        self.max_queue = max_queue

    cdef Filter clone(self):
        cdef Demux f = Demux.__new__(Demux)
        f.target = self.target
        f.output_count = self.output_count
        f.max_queue = self.max_queue
        return f

    def sub_layouts(self):
        return (self.target,)

    def describe(self):
        return 'demux -> %s' % self.target.name

    cdef int on_event(self, Event evt) except -1:
        if self.ended:
            return 0
        if self.waiting is not None:
            self.waiting.append(evt)
            self.gate.close_gate()              # (again for each read: that reader pauses too)
            return 0
        return self.take(evt)

    cdef int take(self, Event evt) except -1:
        cdef DemuxSlot s = self.current
        if isinstance(evt, MessageStart):
            if s is not None:
                return 0                        # a message inside a message: its start is not one
            if self.exclusive is not None or (self.max_queue > 0 and self.queued >= self.max_queue):
                self.waiting = [evt]
                if self.gate is None:
                    self.gate = InputGate.__new__(InputGate)
                self.gate.close_gate()
                return 0
            return self.start_message(<MessageStart>evt)
        if s is not None:
            if isinstance(evt, Data):
                return self.push(s, evt)
            if isinstance(evt, (MessageEnd, StreamEnd)):
                # (A StreamEnd inside a message: the message was cut short, and its sub-pipeline sees that end.)
                self.current = None
                s.input_done = True
                self.push(s, evt)
                if s.done and s.sub is not None:
                    self.end_sub(s, None)
        if isinstance(evt, StreamEnd) and not self.ended:
            if (<StreamEnd>evt).error is not None:
                return self.abort(evt)          # the peer is gone: nothing more can reach it
            if self.oldest is None:
                self.ended = True
                return self.output(evt)
            self.eos = <StreamEnd>evt
        return 0

    cdef int start_message(self, MessageStart evt) except -1:
        cdef DemuxSlot s
        cdef Py_ssize_t n
        n_given = self.output_count
        if type(n_given) is not int:
            try:
                n_given = self.call(n_given, evt)
                n = n_given
            except Exception as e:
                report_error(e, self.location)
                return self.abort(StreamEnd('RuntimeError'))
        else:
            n = n_given
        s = DemuxSlot.__new__(DemuxSlot)
        s.owner = self
        self.current = s
        if n == 0:
            s.done = True                        # one-way: nothing awaited, nothing held behind it
        else:
            if n < 0:
                n = -n
                s.exclusive = True
                self.exclusive = s
            s.expected = <int>n
            if self.newest is None:
                self.oldest = s
            else:
                self.newest.next_slot = s
            self.newest = s
            self.queued += 1
        s.sub = self.sub_pipeline(self.target, s)
        return self.push(s, evt)

    cdef int push(self, DemuxSlot s, Event evt) except -1:
        # An error inside one message's sub-pipeline ends that sub-pipeline; the messages before it still get their
        # outputs, and the stream ends where this one's outputs were due.
        cdef Pipeline p = s.sub
        if p is None:
            return 0
        try:
            p.on_event(evt)
        except Exception as e:
            report_error(e, self.location)
            p, s.sub = s.sub, None
            if p is not None:
                p.shutdown()
            if not s.done:
                s.finish(StreamEnd('RuntimeError'))
        return 0

    cdef void end_sub(self, DemuxSlot s, object error):
        # The exchange is over (or abandoned): the sub-pipeline sees its stream end, then goes away.
        cdef Pipeline p = s.sub
        s.sub = None
        if p is None:
            return
        try:
            p.on_event(STREAM_END_OK if error is None else StreamEnd(error))
        except Exception as e:
            report_error(e, self.location)
        p.shutdown()

    cdef int advance(self) except -1:
        # Pops the finished slots at the head of the queue; the next one's held output goes out.
        cdef DemuxSlot s, nxt
        if self.advancing:
            return 0                            # the loop below, further up the stack, sees it
        self.advancing = True
        try:
            while self.oldest is not None and self.oldest.done:
                s = self.oldest
                self.oldest = s.next_slot
                if self.oldest is None:
                    self.newest = None
                s.next_slot = None
                self.queued -= 1
                if s is self.exclusive:
                    self.exclusive = None
                if s.error is not None:
                    self.advancing = False
                    return self.abort(s.error)
                nxt = self.oldest
                if nxt is not None and nxt.held is not None:
                    held, nxt.held = nxt.held, None
                    for e in held:
                        self.output(<Event>e)
        finally:
            self.advancing = False
        if self.ended:
            return 0
        if self.waiting is not None:
            self.resume()
        if self.oldest is None and self.eos is not None and not self.ended:
            self.ended = True
            return self.output(self.eos)
        return 0

    cdef int resume(self) except -1:
        # Room in the queue: the input that waited is taken again, in order, until the queue is full once more.
        if self.exclusive is not None or (self.max_queue > 0 and self.queued >= self.max_queue):
            return 0
        waiting, self.waiting = self.waiting, None
        for e in waiting:
            if self.ended:
                break
            self.on_event(<Event>e)
        if self.waiting is None and self.gate is not None:
            self.gate.open_gate()
        return 0

    cdef int abort(self, object eos) except -1:
        # The stream ends now with eos: every message still in flight is abandoned.
        self.shutdown()
        return self.output(<Event>eos)

    cdef void shutdown(self):
        cdef DemuxSlot s = self.oldest, nxt
        self.ended = True
        self.waiting = None
        self.oldest = self.newest = None
        self.queued = 0
        self.exclusive = None
        if self.gate is not None:
            self.gate.open_gate()
        if self.current is not None:
            nxt, self.current = self.current, None
            nxt.owner = None
            self.end_sub(nxt, 'ConnectionReset')
        while s is not None:
            nxt, s.next_slot = s.next_slot, None
            s.owner = None
            self.end_sub(s, 'ConnectionReset')
            s = nxt
