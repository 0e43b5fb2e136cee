# branch(cond1, layout1, ..., default): sends the stream into the first sub-pipeline whose condition holds.

cdef class BranchFilter(Filter):
    """branch(cond1, pipeline1, cond2, pipeline2, ..., default): on the stream's first event, picks the first
    pipeline whose condition is true (a condition is a callable or a plain value); None as a pipeline passes the
    stream straight on."""

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


