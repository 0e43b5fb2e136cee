# Filters that route a stream through other pipelines: link, branch, fork, use/chain, and wait.

cdef class LinkFilter(Filter):
    """link(name): sends the stream through the named (or inline) pipeline; its output goes on from here."""
    cdef LayoutRef target
    cdef Pipeline sub

    def __init__(self, LayoutRef target):
        self.target = target

    cdef Filter clone(self):
        cdef LinkFilter f = LinkFilter.__new__(LinkFilter)
        f.target = self.target
        return f

    def sub_layouts(self):
        return (self.target,)

    cdef int on_event(self, Event evt) except -1:
        if self.sub is None:
            self.sub = self.sub_pipeline(self.target, self.next)
        return self.sub.on_event(evt)

    cdef void shutdown(self):
        if self.sub is not None:
            self.sub.shutdown()

    def describe(self):
        return 'link(%s)' % self.target.name


cdef class BranchFilter(Filter):
    """branch(cond1, pipeline1, cond2, pipeline2, ..., default): on the stream's first event, picks the first
    pipeline whose condition is true (a condition is a callable or a plain value); None as a pipeline passes the
    stream straight on."""
    cdef list conditions
    cdef list targets                  # LayoutRef or None
    cdef object default                # LayoutRef or None
    cdef EventTarget chosen
    cdef Pipeline sub

    def __init__(self, conditions, targets, default):
        self.conditions = list(conditions)
        self.targets = list(targets)
        self.default = default

    cdef Filter clone(self):
        cdef BranchFilter f = BranchFilter.__new__(BranchFilter)
        f.conditions, f.targets, f.default = self.conditions, self.targets, self.default
        return f

    def sub_layouts(self):
        return tuple(t for t in self.targets + [self.default] if t is not None)

    cdef int on_event(self, Event evt) except -1:
        if self.chosen is None:
            target = self.default
            try:
                for i in range(len(self.conditions)):
                    if self.evaluate(self.conditions[i]):
                        target = self.targets[i]
                        break
            except Exception as e:
                self.chosen = DISCARD
                return self.fail_stream(e)
            if target is None:
                self.chosen = self.next
            else:
                self.sub = self.sub_pipeline(<LayoutRef>target, self.next)
                self.chosen = self.sub
        return self.chosen.on_event(evt)

    cdef void shutdown(self):
        if self.sub is not None:
            self.sub.shutdown()


cdef class ForkFilter(Filter):
    """fork(count=1): copies the stream into count (an int, a list, or a callable giving either) sub-pipelines whose
    output is dropped; the stream itself goes on unchanged."""
    cdef LayoutRef target
    cdef object count
    cdef list subs
    cdef EventTarget sink
    cdef bint dead

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


cdef class UseFilter(Filter):
    """use(modules, name): runs the stream through the pipeline `name` of the first module; each module's chain()
    goes on to the same-named pipeline of the next module; the last one's output goes on from here."""
    cdef list layouts                  # LayoutRef per module
    cdef Pipeline sub

    def __init__(self, layouts):
        self.layouts = list(layouts)

    cdef Filter clone(self):
        cdef UseFilter f = UseFilter.__new__(UseFilter)
        f.layouts = self.layouts
        return f

    def sub_layouts(self):
        return tuple(self.layouts)

    cdef int on_event(self, Event evt) except -1:
        if self.sub is None:
            if not self.layouts:
                return self.output(evt)
            self.sub = start_pipeline(<LayoutRef>self.layouts[0], self.pipeline.context, self.next)
            self.sub.chain_layouts = self.layouts
            self.sub.chain_index = 0
        return self.sub.on_event(evt)

    cdef void shutdown(self):
        if self.sub is not None:
            self.sub.shutdown()


cdef class ChainFilter(Filter):
    """chain(): inside a module run by use(), goes on to the next module's pipeline; after the last, passes on."""
    cdef EventTarget target
    cdef Pipeline sub

    cdef Filter clone(self):
        return ChainFilter.__new__(ChainFilter)

    cdef int on_event(self, Event evt) except -1:
        cdef Pipeline p
        cdef int i
        if self.target is None:
            p = self.pipeline
            layouts = p.chain_layouts
            i = p.chain_index + 1
            if layouts is not None and i < len(layouts):
                self.sub = start_pipeline(<LayoutRef>layouts[i], p.context, self.next)
                self.sub.chain_layouts = layouts
                self.sub.chain_index = i
                self.target = self.sub
            else:
                self.target = self.next
        return self.target.on_event(evt)

    cdef void shutdown(self):
        if self.sub is not None:
            self.sub.shutdown()


cdef class WaitFilter(Filter):
    """wait(condition, timeout=None): holds the stream's events until condition() is true, then lets them all go.
    The condition is checked on every event and every few milliseconds; on timeout the stream ends."""
    cdef object condition
    cdef object timeout
    cdef list held
    cdef bint open
    cdef bint dead
    cdef object timer
    cdef double deadline

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
        if self.deadline >= 0 and now() >= self.deadline:
            self.stop()
            self.output(StreamEnd('ReadTimeout'))
            return
        try:
            self.check()
        except Exception as e:
            report_error(e, self.location)

    cdef void shutdown(self):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
