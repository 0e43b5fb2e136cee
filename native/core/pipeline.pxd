# Declared here, defined in pipeline.pxi.

# Anything that takes events.
cdef class EventTarget:
    cdef int on_event(self, Event evt) except -1
    cdef int on_bytes(self, object b) except -1
    cdef int flush_held(self) except -1
    cdef bint takes_file_spans(self)


# Keeps every event it is given, or passes each to a Python callable.
cdef class EventCollector(EventTarget):
    cdef public list events
    cdef object fn

    cdef int on_event(self, Event evt) except -1


# Base of every filter.
cdef class Filter(EventTarget):
    cdef EventTarget next
    cdef Pipeline pipeline
    cdef ModuleScope scope
    cdef public object location          # (filename, line) of the script line that added this filter

    cdef Filter clone(self)
    cdef inline int output(self, Event evt) except -1:
        return self.next.on_event(evt)
    cdef inline int output_bytes(self, object b) except -1:
        return self.next.on_bytes(b)
    cdef void shutdown(self)
    cdef int start_early(self) except -1
    cdef void drain(self)
    cdef object target_address(self)
    cdef bint busy(self)
    cdef bint input_unread(self)
    cdef bint relays_bytes(self)
    cdef void expect_reply(self, bint owed)
    cdef object call(self, object fn, object arg)
    cdef object call0(self, object fn)
    cdef object spawn(self, object awaitable, object done)
    cdef int fail_stream(self, object exc) except -1
    cdef Pipeline sub_pipeline(self, LayoutRef ref, EventTarget output)
    cdef object evaluate(self, object value)


cdef object spawn_in_scope(Context c, ModuleScope s, object awaitable, object done)
cdef bint is_awaitable(object x)


# A sub-pipeline named before it is defined.
cdef class LayoutRef:
    cdef public object name              # str name, or a PipelineLayout already
    cdef public PipelineLayout layout


# The template of a pipeline.
cdef class PipelineLayout:
    cdef public str name
    cdef public list filters
    cdef public ModuleScope scope
    cdef public object listen_options      # for layouts made by listen()
    cdef public object location

    cdef Pipeline instantiate(self, Context context, EventTarget output)
    cdef object first_target(self)


# One running instance of a layout.
cdef class Pipeline(EventTarget):
    cdef PipelineLayout layout
    cdef EventTarget first
    cdef EventTarget output
    cdef list instances
    cdef public Context context
    cdef list chain_layouts              # for use()/chain(): the modules' layouts, and which one this is
    cdef int chain_index
    cdef public object start_args        # what the filter that started it hands its on_start() (a fork's item)

    cdef int on_event(self, Event evt) except -1
    cdef int on_bytes(self, object b) except -1
    cdef void shutdown(self)
    cdef void start_early(self)
    cdef void drain(self)
    cdef bint busy(self)
    cdef bint input_unread(self)
    cdef bint relays_bytes(self)
    cdef Filter first_filter(self)


cdef Pipeline start_pipeline(LayoutRef ref, Context context, EventTarget output)
