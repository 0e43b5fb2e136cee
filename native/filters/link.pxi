# link: the stream goes on through another pipeline, whose output is this filter's output.

cdef class LinkFilter(Filter):
    """link(name): sends the stream through the named (or inline) pipeline; its output goes on from here."""

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


