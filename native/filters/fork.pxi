# fork: copies of the stream go to sub-pipelines. fork drops their output and lets the stream go on; fork_join holds
# the stream until every fork has ended; fork_race outputs what the first fork to answer outputs and ends the others.

cdef class ForkFilter(Filter):
    """fork(count=1): copies the stream into count (an int, a list, or a callable giving either) sub-pipelines whose
    output is dropped; the stream itself goes on unchanged. With a list, each fork gets its item as its start
    argument (on_start) and a copy of the stream's context variables."""

    def __init__(self, LayoutRef target, count=1, int mode=FORK_COPY, buffer_limit=DEFAULT_BUFFER_LIMIT,
                 timeout=None):
        self.target = target
        self.count = count
        self.mode = mode
        self.buffer_limit = buffer_limit
        self.timeout = timeout

    cdef Filter clone(self):
        cdef ForkFilter f = ForkFilter.__new__(ForkFilter)
        f.target, f.count, f.mode, f.buffer_limit = self.target, self.count, self.mode, self.buffer_limit
        f.timeout = self.timeout
        f.winner = -1
        return f

    def sub_layouts(self):
        return (self.target,)

    cdef int on_event(self, Event evt) except -1:
        cdef Pipeline p
        cdef Py_ssize_t i
        if self.dead:
            return 0
        if self.subs is None:
            self.start_forks()
            if self.dead:
                return 0
        # Each fork gets its own copy of the event, so what it does to it stays its own.
        for i in range(len(self.subs)):
            p = self.subs[i]
            if p is None:
                continue
            try:
                p.on_event(copy_event(evt))
            except Exception as e:
                if self.mode == FORK_COPY:
                    report_error(e, self.location)
                else:
                    self.fork_failed(i, e)
            if self.dead:
                return 0
        if self.mode == FORK_COPY:
            return self.output(evt)
        if self.mode == FORK_JOIN:
            if self.held is None:
                return self.output(evt)
            if not self.held.push(evt):
                self.shutdown()
                self.dead = True
                return overflow_stream(self, 'more than buffer_limit (%d bytes) held while the forks run'
                                       % self.buffer_limit)
            return 0
        if not self.subs:                      # a race of no forks: the stream goes on as it is
            return self.output(evt)
        return 0

    cdef int start_forks(self) except -1:
        cdef ForkOutput out
        cdef Pipeline p
        cdef int i
        try:
            n = self.evaluate(self.count)
            items = None
            if isinstance(n, (list, tuple)):
                items = n
                n = len(n)
            n = int(n)
        except Exception as e:
            self.subs = []
            self.dead = True
            return self.fail_stream(e)
        self.subs = []
        if self.mode == FORK_JOIN and n > 0:
            self.held = new_event_buffer(self.buffer_limit)
            if self.timeout is not None:
                self.timer = _asyncio.get_event_loop().call_later(float(self.timeout), self._join_timed_out)
        elif self.sink is None:
            self.sink = EventTarget()
        for i in range(n):
            if self.mode == FORK_COPY:
                target = self.sink
            else:
                out = ForkOutput.__new__(ForkOutput)
                out.owner, out.index = self, i
                target = out
            if items is not None:
                p = start_pipeline(self.target, self.pipeline.context.clone(), target)
                p.chain_layouts, p.chain_index = self.pipeline.chain_layouts, self.pipeline.chain_index
                p.start_args = items[i]
            else:
                p = self.sub_pipeline(self.target, target)
            self.subs.append(p)
        return 0

    cdef int on_fork_output(self, int index, Event evt) except -1:
        cdef Py_ssize_t i
        if self.dead or self.subs is None:
            return 0
        if self.mode == FORK_JOIN:
            if isinstance(evt, StreamEnd):
                self.ended += 1
                if self.ended == len(self.subs) and self.held is not None:
                    held, self.held = self.held, None
                    if self.timer is not None:
                        self.timer.cancel()
                        self.timer = None
                    held.flush(self.next)
            return 0
        # FORK_RACE
        if self.winner < 0:
            if isinstance(evt, StreamEnd) and (<StreamEnd>evt).error is not None:
                self.ended += 1
                self.subs[index] = None
                if self.ended == len(self.subs):
                    return self.output(evt)         # every fork failed: the last one's end is the stream's
                return 0
            self.winner = index
            for i in range(len(self.subs)):
                p = self.subs[i]
                if i != index and p is not None:
                    self.subs[i] = None
                    (<Pipeline>p).shutdown()
        if index == self.winner:
            return self.output(evt)
        return 0

    cdef int fork_failed(self, int index, object exc) except -1:
        # An exception out of one fork of a join or a race: that fork has ended, with a RuntimeError.
        report_error(exc, self.location)
        if self.subs is None:
            return 0
        p = self.subs[index]
        if p is not None:
            self.subs[index] = None
            (<Pipeline>p).shutdown()
        return self.on_fork_output(index, StreamEnd('RuntimeError'))

    def _join_timed_out(self):
        # fork_join: the forks did not all end in time. They are ended, and so is the stream.
        self.timer = None
        if self.dead or self.held is None:
            return
        self.shutdown()
        dispatch_begins()
        try:
            self.output(StreamEnd('ReadTimeout'))
        except Exception as e:
            report_error(e, self.location)
        finally:
            dispatch_ends()

    cdef void shutdown(self):
        # The forks' outputs point back at this filter: letting go of the forks breaks that cycle.
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.dead = True
        subs, self.subs = self.subs, None
        self.held = None
        if subs is not None:
            for p in subs:
                if p is not None:
                    (<Pipeline>p).shutdown()

    def describe(self):
        return ('fork', 'fork_join', 'fork_race')[self.mode]


cdef class ForkOutput(EventTarget):
    """Where a fork's output goes in fork_join and fork_race: back to its filter, with the fork's number."""

    cdef int on_event(self, Event evt) except -1:
        return self.owner.on_fork_output(self.index, evt)


cdef Event copy_event(Event evt):
    # A copy for a fork: its own Data object (sharing the immutable chunks) and its own head.
    cdef Data d
    if isinstance(evt, Data):
        d = Data.__new__(Data)
        d.append_data(<Data>evt)
        return d
    if isinstance(evt, MessageStart):
        return MessageStart(copy_head((<MessageStart>evt).head))
    return evt


cdef object copy_head(object head):
    if isinstance(head, dict):
        h = dict(head)
        if isinstance(h.get('headers'), dict):
            h['headers'] = dict(h['headers'])
        return h
    if isinstance(head, HttpHead):
        return (<HttpHead>head).copy()
    return head
