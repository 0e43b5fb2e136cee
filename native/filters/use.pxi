# use and chain: a stream through the same-named pipeline of several modules (plugins), one after the other.

cdef class UseFilter(Filter):
    """use(modules, name): runs the stream through the pipeline `name` of the first module; each module's chain()
    goes on to the same-named pipeline of the next module; the last one's output goes on from here."""

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


