# Filters, pipeline layouts and pipeline instances.
#
# A layout is the template a script builds: a name and a list of filter prototypes. An instance is made per stream
# (per accepted connection, per demuxed message, per mux_http session) by cloning each prototype and linking the clones:
# every filter outputs straight into the next one's on_event, a C vtable call, and the last outputs into whatever
# the pipeline was created for. Nothing on that path awaits: asyncio lives only at the I/O edges.

import asyncio as _asyncio
import contextvars as _contextvars
import collections.abc as _abc

cdef class EventTarget:
    """Anything that takes events: a filter, a pipeline, the writer of a connection."""

    cdef int on_event(self, Event evt) except -1:
        return 0

    cdef int on_bytes(self, object b) except -1:
        # Bytes as one Data event. The targets at the two ends of a busy path (a connection's writer, a decoder
        # reading a connection) take them as they are: a proxied request then crosses without the four Data
        # objects it would make and free.
        return self.on_event(Data.wrap(b))

    cdef int flush_held(self) except -1:
        # For encoders that hold a body hoping the message ends in the same read: send what is held now.
        return 0

    cdef bint takes_file_spans(self):
        # Whether a FileChunk may be given to this target as it is (a connection sends it with sendfile); anything
        # else gets the file's bytes.
        return False

    def input(self, evt):
        """Feed an event from Python (tests, plugins)."""
        self.on_event(evt)

    def _flush_soon(self):
        try:
            self.flush_held()
        except Exception as e:
            report_error(e, None)


cdef EventTarget DISCARD = EventTarget()


cdef class EventCollector(EventTarget):
    """Keeps every event it is given, or passes each to a Python callable."""

    def __init__(self, fn=None):
        self.events = []
        self.fn = fn

    cdef int on_event(self, Event evt) except -1:
        if self.fn is not None:
            self.fn(evt)
        else:
            self.events.append(evt)
        return 0


cdef class Filter(EventTarget):
    """Base of every filter. Prototypes live in layouts; clone() makes the instance for one pipeline."""

    cdef Filter clone(self):
        raise NotImplementedError('%s cannot be cloned' % type(self).__name__)


    cdef void shutdown(self):
        # The pipeline is going away: release timers, connections, sub-pipelines.
        pass

    cdef int start_early(self) except -1:
        # The stream's connection was just accepted and this filter comes first. One that carries the bytes on to a
        # far side that may speak first (connect, a tunnel) starts now instead of at the first byte.
        return 0

    cdef void drain(self):
        # The process is stopping and this filter comes first in an accepted connection's pipeline: end the stream
        # at its next boundary (HTTP after the requests in flight, a tunnel after its last channel).
        pass

    cdef object target_address(self):
        # What this filter connects to, when it does: names a pool or a tunnel by its upstream.
        return None

    cdef bint busy(self):
        # This filter comes first in a connection's pipeline, and the connection is quiet because the filter is
        # working on what the peer waits for (an HTTP server's requests in flight): not idle.
        return False

    cdef bint input_unread(self):
        # This filter comes first in a connection's pipeline and has ended its stream: might the peer still be
        # sending what it will not read? Then the connection lingers before it closes (see Inbound.linger). Only
        # a filter that knows it stopped between messages says no.
        return True

    cdef bint relays_bytes(self):
        # From now on, does this filter pass Data on unchanged both ways and nothing else, so that the connection's
        # bytes may skip it (io/relay)? Only a filter that knows says yes.
        return False

    cdef void expect_reply(self, bint owed):
        # A client that frames its exchanges (mux_http) says when the far side owes it an answer, so the filter
        # that talks to the peer (connect) can time the whole answer, not only its first byte. Passed along the
        # pipeline until a filter takes it.
        if isinstance(self.next, Filter) and (<Filter>self.next).pipeline is self.pipeline:
            (<Filter>self.next).expect_reply(owed)

    def sub_layouts(self):
        """The LayoutRefs of the sub-pipelines this filter starts (to resolve names after loading)."""
        return ()

    def describe(self):
        return type(self).__name__

    cdef object call(self, object fn, object arg):
        # Runs a user callback with ctx pointing at this stream's variables as seen from this filter's module;
        # afterwards ctx points where it did before (nothing, outside any callback).
        cdef Context c = _cur_ctx
        cdef ModuleScope s = _cur_scope
        enter_scope(self.pipeline.context if self.pipeline is not None else None, self.scope)
        try:
            return fn(arg)
        finally:
            enter_scope(c, s)

    cdef object call0(self, object fn):
        cdef Context c = _cur_ctx
        cdef ModuleScope s = _cur_scope
        enter_scope(self.pipeline.context if self.pipeline is not None else None, self.scope)
        try:
            return fn()
        finally:
            enter_scope(c, s)

    cdef object spawn(self, object awaitable, object done):
        # Runs an awaitable a callback returned as a task whose ctx is this stream's; done(task) runs on completion.
        return spawn_in_scope(self.pipeline.context if self.pipeline is not None else None, self.scope,
                              awaitable, done)

    cdef int fail_stream(self, object exc) except -1:
        # An error in user code ends this stream only: logged with the script's line, StreamEnd('RuntimeError') out.
        # What that end raises further down is reported too: this runs where nobody else would catch it (a timer,
        # a task's completion), and the stream must still end.
        report_error(exc, self.location)
        try:
            self.output(StreamEnd('RuntimeError'))
        except Exception as e:
            report_error(e, self.location)
        return 0

    cdef Pipeline sub_pipeline(self, LayoutRef ref, EventTarget output):
        # A sub-pipeline shares this stream's context and its place in a use() chain.
        cdef Pipeline p = start_pipeline(ref, self.pipeline.context, output)
        p.chain_layouts = self.pipeline.chain_layouts
        p.chain_index = self.pipeline.chain_index
        return p

    cdef object evaluate(self, object value):
        # Options given as a callable are evaluated per stream.
        if callable(value):
            return self.call0(value)
        return value

    def __repr__(self):
        return '<filter %s>' % self.describe()


_task_scope = _contextvars.ContextVar('pipyx_task_scope', default=None)


cdef object spawn_in_scope(Context c, ModuleScope s, object awaitable, object done):
    loop = _asyncio.get_event_loop()
    if _asyncio.iscoroutine(awaitable):
        cv = _contextvars.copy_context()
        cv.run(_task_scope.set, (c, s))
        task = loop.create_task(awaitable, context=cv)
    else:
        task = _asyncio.ensure_future(awaitable)
    if done is not None:
        task.add_done_callback(done)
    return task


cdef inline bint is_awaitable(object x):
    if x is None or type(x) is Message or isinstance(x, (Event, str, bytes, bool, int, dict, list, tuple)):
        return False
    return isinstance(x, _abc.Awaitable)


cdef class LayoutRef:
    """A sub-pipeline named before it is defined; resolved once the script has loaded."""

    def __init__(self, name):
        if isinstance(name, PipelineLayout):
            self.layout = name
            self.name = (<PipelineLayout>name).name
        else:
            self.name = name
            self.layout = None


cdef class PipelineLayout:
    """The template of a pipeline: its filters' prototypes, in order."""

    def __init__(self, name, ModuleScope scope, location=None):
        self.name = name
        self.filters = []
        self.scope = scope
        self.location = location
        self.listen_options = None

    def append(self, Filter f):
        if f.scope is None:
            f.scope = self.scope
        self.filters.append(f)
        return f

    cdef Pipeline instantiate(self, Context context, EventTarget output):
        cdef Pipeline p = Pipeline.__new__(Pipeline)
        cdef Filter proto, f
        cdef Filter prev = None
        cdef Py_ssize_t i, n = len(self.filters)
        p.layout = self
        p.context = context
        p.output = output
        p.instances = [None] * n if n > 1 else None
        for i in range(n):
            proto = <Filter>self.filters[i]
            f = proto.clone()
            f.scope = proto.scope
            f.location = proto.location
            f.pipeline = p
            if n > 1:
                p.instances[i] = f
            if prev is None:
                p.first = f
            else:
                prev.next = f
            prev = f
        if prev is None:
            p.first = output
        else:
            prev.next = output
        return p

    cdef object first_target(self):
        # The address the layout's first filter connects to (connect's target), or None.
        if self.filters:
            return (<Filter>self.filters[0]).target_address()
        return None

    def start(self, output=None, context=None):
        """Make an instance from Python (tests, tools); events it outputs go to output (an EventTarget)."""
        return self.instantiate(context if context is not None else Context(),
                                output if output is not None else EventCollector())

    def __repr__(self):
        return '<pipeline %s: %s>' % (self.name, ' -> '.join(f.describe() for f in self.filters))


cdef class Pipeline(EventTarget):
    """One running instance of a layout."""

    cdef int on_event(self, Event evt) except -1:
        return self.first.on_event(evt)

    cdef int on_bytes(self, object b) except -1:
        return self.first.on_bytes(b)

    cdef void shutdown(self):
        if self.instances is not None:
            instances, self.instances = self.instances, None
            for f in instances:
                (<Filter>f).shutdown()
            self.first = DISCARD
        elif self.first is not DISCARD:
            first, self.first = self.first, DISCARD
            if isinstance(first, Filter) and (<Filter>first).pipeline is self:
                (<Filter>first).shutdown()
        # What it outputs into (a connection, a response slot, a session) holds it: letting go breaks the cycle, so
        # that both are freed by reference counting instead of waiting for the garbage collector.
        self.output = DISCARD

    cdef void start_early(self):
        # For a stream that is a connection: see Filter.start_early.
        cdef Filter f = self.first_filter()
        if f is not None:
            try:
                f.start_early()
            except Exception as e:
                report_error(e, f.location)

    cdef void drain(self):
        cdef Filter f = self.first_filter()
        if f is not None:
            f.drain()

    cdef bint busy(self):
        cdef Filter f = self.first_filter()
        return f is not None and f.busy()

    cdef bint input_unread(self):
        cdef Filter f = self.first_filter()
        return f is None or f.input_unread()

    cdef bint relays_bytes(self):
        # One filter, and it relays: the pipeline is as good as a wire.
        cdef Filter f = self.first_filter()
        return f is not None and f.next is self.output and f.relays_bytes()

    cdef Filter first_filter(self):
        # The first of this pipeline's own filters, or None when it has none (it outputs straight to its output).
        first = self.first
        if isinstance(first, Filter) and (<Filter>first).pipeline is self:
            return <Filter>first
        return None

    def close(self):
        self.shutdown()

    @property
    def name(self):
        return self.layout.name


cdef Pipeline start_pipeline(LayoutRef ref, Context context, EventTarget output):
    if ref.layout is None:
        raise RuntimeError('pipeline %r is not defined' % (ref.name,))
    return ref.layout.instantiate(context, output)


