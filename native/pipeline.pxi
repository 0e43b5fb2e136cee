# Filters, pipeline layouts and pipeline instances.
#
# A layout is the template a script builds: a name and a list of filter prototypes. An instance is made per stream
# (per accepted connection, per demuxed message, per mux session) by cloning each prototype and linking the clones:
# every filter outputs straight into the next one's on_event, a C vtable call, and the last outputs into whatever
# the pipeline was created for. Nothing on that path awaits: asyncio lives only at the I/O edges.

import asyncio as _asyncio
import contextvars as _contextvars
import collections.abc as _abc

# Set by pipyx.errors: called as reporter(exception, filter_location) for errors in user code.
_error_reporter = None


def set_error_reporter(fn):
    global _error_reporter
    _error_reporter = fn


cdef void report_error(object exc, object location):
    if _error_reporter is not None:
        try:
            _error_reporter(exc, location)
            return
        except Exception:
            pass
    import traceback
    traceback.print_exception(type(exc), exc, exc.__traceback__)


cdef class EventTarget:
    """Anything that takes events: a filter, a pipeline, the writer of a connection."""

    cdef int on_event(self, Event evt) except -1:
        return 0

    cdef int flush_held(self) except -1:
        # For encoders that hold a body hoping the message ends in the same read: send what is held now.
        return 0

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
    cdef public list events
    cdef object fn

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
    cdef EventTarget next
    cdef Pipeline pipeline
    cdef ModuleScope scope
    cdef public object location          # (filename, line) of the script line that added this filter

    cdef Filter clone(self):
        raise NotImplementedError('%s cannot be cloned' % type(self).__name__)

    cdef inline int output(self, Event evt) except -1:
        return self.next.on_event(evt)

    cdef void shutdown(self):
        # The pipeline is going away: release timers, connections, sub-pipelines.
        pass

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
        report_error(exc, self.location)
        return self.output(StreamEnd('RuntimeError'))

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


# Encoders holding part of a body until the read that brought it has been handled (see hold()).
cdef list _held = []
cdef int _dispatching = 0


cdef void hold(EventTarget holder):
    # Inside a socket read the holder is flushed when the read is done, unless its message ended by then; outside
    # one (a timer, a task) at the end of this loop turn.
    if _dispatching:
        _held.append(holder)
    else:
        soon(holder._flush_soon)


cdef void flush_all_held():
    global _held
    held, _held = _held, []
    for h in held:
        try:
            (<EventTarget>h).flush_held()
        except Exception as e:
            report_error(e, None)


cdef void soon(object fn):
    # Calls fn at the end of this turn of the event loop; without a running loop (filters driven from a test),
    # nothing is scheduled and what waits for it goes at the message's end.
    try:
        loop = _asyncio.get_running_loop()
    except RuntimeError:
        return
    loop.call_soon(fn)


cdef inline bint is_awaitable(object x):
    if x is None or type(x) is Message or isinstance(x, (Event, str, bytes, bool, int, dict, list, tuple)):
        return False
    return isinstance(x, _abc.Awaitable)


cdef class LayoutRef:
    """A sub-pipeline named before it is defined; resolved once the script has loaded."""
    cdef public object name              # str name, or a PipelineLayout already
    cdef public PipelineLayout layout

    def __init__(self, name):
        if isinstance(name, PipelineLayout):
            self.layout = name
            self.name = (<PipelineLayout>name).name
        else:
            self.name = name
            self.layout = None


cdef class PipelineLayout:
    """The template of a pipeline: its filters' prototypes, in order."""
    cdef public str name
    cdef public list filters
    cdef public ModuleScope scope
    cdef public object listen_options      # for layouts made by listen()
    cdef public object location

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

    def start(self, output=None, context=None):
        """Make an instance from Python (tests, tools); events it outputs go to output (an EventTarget)."""
        return self.instantiate(context if context is not None else Context(),
                                output if output is not None else EventCollector())

    def __repr__(self):
        return '<pipeline %s: %s>' % (self.name, ' -> '.join(f.describe() for f in self.filters))


cdef class Pipeline(EventTarget):
    """One running instance of a layout."""
    cdef PipelineLayout layout
    cdef EventTarget first
    cdef EventTarget output
    cdef list instances
    cdef public Context context
    cdef list chain_layouts              # for use()/chain(): the modules' layouts, and which one this is
    cdef int chain_index

    cdef int on_event(self, Event evt) except -1:
        return self.first.on_event(evt)

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

    def close(self):
        self.shutdown()

    @property
    def name(self):
        return self.layout.name


cdef Pipeline start_pipeline(LayoutRef ref, Context context, EventTarget output):
    if ref.layout is None:
        raise RuntimeError('pipeline %r is not defined' % (ref.name,))
    return ref.layout.instantiate(context, output)


# Flow control. An endpoint whose transport buffers more than its high-water mark is congested; whichever endpoint's
# read produced the data that got it there pauses its reading until the congested one drains.
cdef Endpoint _congested = None


cdef class Endpoint(Filter):
    """A socket's side of a pipeline: it reads into one and writes what comes out of one."""
    cdef object transport
    cdef object write                     # transport.write, looked up once
    cdef bint write_paused
    cdef bint read_paused
    cdef list waiters                     # endpoints that paused reading because this one is congested

    cdef inline void note_congestion(self):
        global _congested
        _congested = self

    cdef void after_dispatch(self):
        # Called after a read has been pushed through the pipelines.
        global _congested
        cdef Endpoint c = _congested
        if c is None:
            return
        _congested = None
        if not c.write_paused:
            return
        # (c may be this endpoint itself: a client that sends and does not read what it is answered is not read
        # either until it has read its answers.)
        if c.waiters is None:
            c.waiters = []
        if not self.read_paused:
            self.read_paused = True
            self.pause_input()
        c.waiters.append(self)

    cdef void drained(self):
        cdef Endpoint w
        self.write_paused = False
        if self.waiters:
            waiters, self.waiters = self.waiters, None
            for w in waiters:
                if w.read_paused:
                    w.read_paused = False
                    w.resume_input()

    cdef void pause_input(self):
        # A socket stops reading; an endpoint that is not a socket (a tunnel's stream) does its own kind of pause.
        if self.transport is not None:
            try:
                self.transport.pause_reading()
            except Exception:
                pass

    cdef void resume_input(self):
        if self.transport is not None:
            try:
                self.transport.resume_reading()
            except Exception:
                pass
