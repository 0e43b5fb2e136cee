# link: the stream goes on through another pipeline, whose output is this filter's output. The pipeline is named in
# the script, or by a callable when the stream starts.

cdef class LinkFilter(Filter):
    """link(name): sends the stream through the named (or inline) pipeline; its output goes on from here. With a
    callable, the stream's first event asks it for the name; None means not yet: the events wait for the next ask."""

    def __init__(self, LayoutRef target, name_fn=None, named=None, buffer_limit=DEFAULT_BUFFER_LIMIT):
        self.target = target
        self.name_fn = name_fn
        self.named = named
        self.buffer_limit = buffer_limit

    cdef Filter clone(self):
        cdef LinkFilter f = LinkFilter.__new__(LinkFilter)
        f.target, f.name_fn, f.named, f.buffer_limit = self.target, self.name_fn, self.named, self.buffer_limit
        return f

    def sub_layouts(self):
        return (self.target,) if self.target is not None else ()

    cdef int on_event(self, Event evt) except -1:
        cdef LayoutRef ref
        if self.sub is None:
            if self.target is not None:
                self.sub = self.sub_pipeline(self.target, self.next)
            else:
                if self.held is None:
                    self.held = new_event_buffer(self.buffer_limit)
                elif not self.held.events and self.name_fn is None:
                    return 0                            # failed before: the rest of the stream goes nowhere
                try:
                    name = self.call0(self.name_fn)
                    ref = None if name is None else layout_named(self, name, self.named, None)
                except Exception as e:
                    self.name_fn = None
                    self.held.clear()
                    return self.fail_stream(e)
                if ref is None:
                    if not self.held.push(evt):
                        self.name_fn = None
                        self.held.clear()
                        return overflow_stream(self, 'more than buffer_limit (%d bytes) held before a pipeline was '
                                               'named' % self.buffer_limit)
                    return 0
                self.sub = self.sub_pipeline(ref, self.next)
                self.held.flush(self.sub)
        return self.sub.on_event(evt)

    cdef void shutdown(self):
        if self.sub is not None:
            self.sub.shutdown()

    def describe(self):
        return 'link(%s)' % (self.target.name if self.target is not None else '...')


class PipelineNotFound(LookupError):
    """A pipeline named at run time (link, pipe) that the script does not define."""


cdef LayoutRef layout_named(Filter f, object name, object named, object extra):
    # The layout a run-time name stands for: in extra (pipe's map of LayoutRefs) first, then among the module's
    # named pipelines. A name that is neither raises, for the stream's filter to report.
    if isinstance(name, LayoutRef):
        return <LayoutRef>name
    if extra is not None:
        r = extra.get(name)
        if r is not None:
            return <LayoutRef>r
    layout = named.get(name) if named is not None and isinstance(name, str) else None
    if layout is None:
        raise PipelineNotFound('%s: no pipeline named %r' % (f.describe(), name))
    return LayoutRef(layout)


# link_async: link, decoupled. The events that reach it are kept and handed to the linked pipeline on a later turn
# of the event loop, in order, each turn bracketed as a read (what it holds flushes when the turn is done); what the
# pipeline outputs goes on at once. So the filters before it never run inside the linked pipeline's work: a
# pipeline whose output comes back to its own input (through a hub, a mux session, a loop) does not recurse, and
# a slow pipeline does not lengthen the read that fed it. Pipy's linkAsync also lets the pipeline run on another
# thread; pipyx's workers are processes, so that half has no counterpart.

cdef class LinkAsyncFilter(Filter):
    """link_async(name): link whose pipeline gets the stream's events on a later turn of the event loop; see
    pipyx/filters/link.py."""

    def __init__(self, LayoutRef target, name_fn=None, named=None, buffer_limit=DEFAULT_BUFFER_LIMIT):
        self.target = target
        self.name_fn = name_fn
        self.named = named
        self.buffer_limit = buffer_limit

    cdef Filter clone(self):
        cdef LinkAsyncFilter f = LinkAsyncFilter.__new__(LinkAsyncFilter)
        f.target, f.name_fn, f.named, f.buffer_limit = self.target, self.name_fn, self.named, self.buffer_limit
        f.held = new_event_buffer(self.buffer_limit)
        return f

    def sub_layouts(self):
        return (self.target,) if self.target is not None else ()

    def describe(self):
        return 'link_async(%s)' % (self.target.name if self.target is not None else '...')

    cdef int on_event(self, Event evt) except -1:
        if self.dead:
            return 0
        if not self.held.push(evt):
            self.dead = True
            self.held.clear()
            if self.sub is not None:
                self.sub.on_event(StreamEnd('BufferOverflow'))
            return overflow_stream(self, 'more than buffer_limit (%d bytes) waiting for the loop' % self.buffer_limit)
        if not self.scheduled:
            self.scheduled = True
            try:
                loop = _asyncio.get_running_loop()
            except RuntimeError:             # driven from a test without a loop: at once, as link would
                return self.hand_over()
            loop.call_soon(self._turn)
        return 0

    def _turn(self):
        dispatch_begins()
        try:
            self.hand_over()
        except Exception as e:
            self.dead = True
            self.held.clear()
            self.fail_stream(e)
        finally:
            dispatch_ends()

    cdef int hand_over(self) except -1:
        cdef LayoutRef ref
        self.scheduled = False
        if self.dead or not self.held.events:
            return 0
        if self.sub is None:
            if self.target is not None:
                ref = self.target
            else:
                try:
                    name = self.call0(self.name_fn)
                    ref = None if name is None else layout_named(self, name, self.named, None)
                except Exception as e:
                    self.dead = True
                    self.held.clear()
                    return self.fail_stream(e)
                if ref is None:
                    return 0                  # not yet: asked again when the next event comes
            self.sub = self.sub_pipeline(ref, self.next)
        return self.held.flush(self.sub)

    cdef void shutdown(self):
        self.dead = True
        self.held.clear()
        if self.sub is not None:
            self.sub.shutdown()
