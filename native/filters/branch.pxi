# branch(cond1, layout1, ..., default): sends the stream into the first sub-pipeline whose condition holds.
# branch_message_start and branch_message choose the same way, with the first message's start, or the whole first
# message, given to each condition; what came before it waits for the choice.

cdef class BranchFilter(Filter):
    """branch(cond1, pipeline1, cond2, pipeline2, ..., default): on the stream's first event, picks the first
    pipeline whose condition is true (a condition is a callable or a plain value); None as a pipeline passes the
    stream straight on. In the message modes the choice waits for the first MessageStart or the first whole
    message, which a callable condition is given."""

    def __init__(self, conditions, targets, default, int mode=BRANCH_STREAM, size_limit=DEFAULT_MESSAGE_SIZE_LIMIT):
        self.conditions = list(conditions)
        self.targets = list(targets)
        self.default = default
        self.mode = mode
        self.size_limit = size_limit

    cdef Filter clone(self):
        cdef BranchFilter f = BranchFilter.__new__(BranchFilter)
        f.conditions, f.targets, f.default = self.conditions, self.targets, self.default
        f.mode, f.size_limit = self.mode, self.size_limit
        return f

    def sub_layouts(self):
        return tuple(t for t in self.targets + [self.default] if t is not None)

    cdef int on_event(self, Event evt) except -1:
        cdef Message m
        if self.chosen is not None:
            return self.chosen.on_event(evt)
        if self.mode == BRANCH_STREAM:
            self.choose(None, False)
            return self.chosen.on_event(evt)
        if self.held is None:
            self.held = new_event_buffer(self.size_limit)
        if isinstance(evt, StreamEnd):
            # The stream ended before a message to choose by: what it had goes straight on.
            self.chosen = self.next
            self.held.push(evt)
            return self.held.flush(self.next)
        if not self.held.push(evt):
            self.chosen = DISCARD
            self.held = None
            return overflow_stream(self, 'more than size_limit (%d bytes) held before the choice' % self.size_limit)
        if self.mode == BRANCH_MESSAGE_START:
            if isinstance(evt, MessageStart):
                self.choose(evt, True)
                if self.held is None:
                    return 0
                return self.held.flush(self.chosen)
            return 0
        # BRANCH_MESSAGE: the first message is gathered while its events are held.
        if isinstance(evt, MessageStart) and self._body is None:
            self._head = (<MessageStart>evt).head
            self._body = Data.__new__(Data)
        elif isinstance(evt, Data) and self._body is not None:
            self._body.append_data(<Data>evt)
        elif isinstance(evt, MessageEnd) and self._body is not None:
            m = Message.__new__(Message)
            m.head, m.body, m.tail = self._head, self._body, (<MessageEnd>evt).tail
            self._head = self._body = None
            self.choose(m, True)
            if self.held is None:
                return 0
            return self.held.flush(self.chosen)
        return 0

    cdef int choose(self, object arg, bint with_arg) except -1:
        # Sets chosen: the first sub-pipeline whose condition holds, or where a failing condition sends the stream.
        target = self.default
        try:
            for i in range(len(self.conditions)):
                cond = self.conditions[i]
                if callable(cond):
                    ok = self.call(cond, arg) if with_arg else self.call0(cond)
                else:
                    ok = cond
                if ok:
                    target = self.targets[i]
                    break
        except Exception as e:
            self.chosen = DISCARD
            self.held = None
            return self.fail_stream(e)
        if target is None:
            self.chosen = self.next
        else:
            self.sub = self.sub_pipeline(<LayoutRef>target, self.next)
            self.chosen = self.sub
        return 0

    cdef void shutdown(self):
        if self.sub is not None:
            self.sub.shutdown()

    def describe(self):
        return ('branch', 'branch_message_start', 'branch_message')[self.mode]
