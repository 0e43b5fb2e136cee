# fork: copies of the stream go to sub-pipelines whose output is dropped; the stream itself goes on.

cdef class ForkFilter(Filter):
    """fork(count=1): copies the stream into count (an int, a list, or a callable giving either) sub-pipelines whose
    output is dropped; the stream itself goes on unchanged."""

    def __init__(self, LayoutRef target, count=1):
        self.target = target
        self.count = count

    cdef Filter clone(self):
        cdef ForkFilter f = ForkFilter.__new__(ForkFilter)
        f.target, f.count = self.target, self.count
        return f

    def sub_layouts(self):
        return (self.target,)

    cdef int on_event(self, Event evt) except -1:
        if self.subs is None:
            try:
                n = self.evaluate(self.count)
                if isinstance(n, (list, tuple)):
                    n = len(n)
                n = int(n)
            except Exception as e:
                self.subs = []
                self.dead = True
                return self.fail_stream(e)
            self.sink = EventTarget()
            self.subs = [self.sub_pipeline(self.target, self.sink) for _ in range(n)]
        if self.dead:
            return 0
        # Each fork gets its own copy of the event, so what it does to it stays its own.
        for p in self.subs:
            try:
                (<Pipeline>p).on_event(copy_event(evt))
            except Exception as e:
                report_error(e, self.location)
        return self.output(evt)

    cdef void shutdown(self):
        if self.subs is not None:
            for p in self.subs:
                (<Pipeline>p).shutdown()


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
