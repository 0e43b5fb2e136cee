# Declared here, defined in handle.pxi.
# Which events a handle_*/replace_* filter looks at.
cdef enum Kind:
    K_STREAM_START = 0
    K_MESSAGE_START = 1
    K_DATA = 2
    K_MESSAGE = 3
    K_MESSAGE_END = 4
    K_STREAM_END = 5
    K_MESSAGE_BODY = 6


# A filter that calls user code and may have to wait for what it returns.
cdef class CallbackFilter(Filter):
    cdef object fn
    cdef int kind
    cdef Py_ssize_t size_limit
    cdef bint truncate                # handle_message*: a body past size_limit is cut in the Message, not an error
    cdef list _held                   # events held while waiting for an awaitable; None when not waiting
    cdef bint _failed
    cdef bint _started
    cdef object _head                 # MessageStart of the message being collected (K_MESSAGE)
    cdef Data _body
    cdef Event _after                 # an event that goes out once the awaited callback is done

    cdef void _copy_from(self, CallbackFilter p)
    cdef int on_event(self, Event evt) except -1
    cdef int process(self, Event evt) except -1
    cdef int resume(self) except -1
    cdef int go_on(self, object r) except -1
    cdef int fail(self, object exc) except -1
    cdef object invoke(self, object arg)
    cdef int run_callback(self, object arg, Event passthrough) except -1
    cdef int result(self, object r) except -1
    cdef int collect(self, Event evt) except -1
    cdef int overflow(self) except -1


# handle_<kind>(callback): calls callback(event or message) and passes every event on unchanged.
cdef class HandleFilter(CallbackFilter):
    cdef Filter clone(self)
    cdef int process(self, Event evt) except -1
