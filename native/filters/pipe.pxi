# pipe: a sub-pipeline chosen when the stream starts, from a callable or a map of names; a list makes a chain whose
# pipelines hand the stream on with pipe_next() (the chain of use(), started by a script instead of by modules).

cdef class PipeFilter(Filter):
    """pipe(target, target_map=None, args=None): the stream goes through the pipeline target names (or the chain a
    list of them makes); a callable target is given the stream's first event and returns a name, a list of names,
    or None to wait for the next event. Its output goes on from here."""

    def __init__(self, target, target_map=None, named=None, args=None, buffer_limit=DEFAULT_BUFFER_LIMIT):
        self.target = target
        self.target_map = target_map
        self.named = named
        self.args = args
        self.buffer_limit = buffer_limit

    cdef Filter clone(self):
        cdef PipeFilter f = PipeFilter.__new__(PipeFilter)
        f.target, f.target_map, f.named, f.args = self.target, self.target_map, self.named, self.args
        f.buffer_limit = self.buffer_limit
        return f

    def sub_layouts(self):
        refs = list(self.target_map.values()) if self.target_map else []
        if isinstance(self.target, LayoutRef):
            refs.append(self.target)
        elif isinstance(self.target, list):
            refs.extend(self.target)
        return tuple(refs)

    cdef int on_event(self, Event evt) except -1:
        if self.sub is not None:
            return self.sub.on_event(evt)
        if self.dead:
            return 0
        return self.begin(evt)

    cdef int begin(self, Event evt) except -1:
        cdef LayoutRef ref
        cdef Pipeline p
        try:
            chosen = self.call(self.target, evt) if callable(self.target) else self.target
            if chosen is not None:
                if isinstance(chosen, (list, tuple)):
                    if not chosen:
                        raise ValueError('pipe: an empty list of pipelines')
                    chain = [layout_named(self, x, self.named, self.target_map) for x in chosen]
                else:
                    chain = None
                    ref = layout_named(self, chosen, self.named, self.target_map)
                start = self.call(self.args, evt) if callable(self.args) else self.args
        except Exception as e:
            self.dead = True
            self.held = None
            return self.fail_stream(e)
        if chosen is None:
            if self.held is None:
                self.held = new_event_buffer(self.buffer_limit)
            if not self.held.push(evt):
                self.dead = True
                self.held = None
                return overflow_stream(self, 'more than buffer_limit (%d bytes) held before a pipeline was named'
                                       % self.buffer_limit)
            return 0
        if chain is not None:
            p = start_pipeline(<LayoutRef>chain[0], self.pipeline.context, self.next)
            p.chain_layouts = chain
            p.chain_index = 0
        else:
            p = self.sub_pipeline(ref, self.next)
        p.start_args = start
        self.sub = p
        if self.held is not None:
            held, self.held = self.held, None
            held.flush(p)
        return p.on_event(evt)

    cdef void shutdown(self):
        if self.sub is not None:
            self.sub.shutdown()

    def describe(self):
        return 'pipe'


cdef class PipeNextFilter(ChainFilter):
    """pipe_next(): in a pipeline of the chain pipe() started with a list, goes on to the next pipeline of the list;
    after the last one (or outside a chain), passes the stream on."""

    cdef Filter clone(self):
        return PipeNextFilter.__new__(PipeNextFilter)

    def describe(self):
        return 'pipe_next'
