# The replace_* family: what a callback returns takes the place of the event or message it was given.

cdef class ReplaceFilter(CallbackFilter):
    """replace_<kind>(callback or value): puts what the callback returns in place of the event or message.

    The callback may return an event, a Message, bytes/str (as Data), a list of those, None (drop), or an
    awaitable of any of these.
    """

    def __init__(self, int kind, fn, size_limit=DEFAULT_MESSAGE_SIZE_LIMIT):
        self.fn = fn
        self.kind = kind
        self.size_limit = size_limit

    cdef Filter clone(self):
        cdef ReplaceFilter f = ReplaceFilter.__new__(ReplaceFilter)
        f._copy_from(self)
        return f

    cdef int replace(self, object arg, Event passthrough) except -1:
        # passthrough (if any) goes out after the replacement.
        if callable(self.fn):
            return self.run_callback(arg, passthrough)
        try:
            self.result(self.fn)
        except Exception as e:
            return self.fail(e)
        if passthrough is not None:
            return self.output(passthrough)
        return 0

    cdef int result(self, object r) except -1:
        return emit_value(self, r)

    cdef int process(self, Event evt) except -1:
        cdef int k = self.kind
        cdef int r
        cdef Message m
        if k == K_DATA:
            if isinstance(evt, Data):
                return self.replace(evt, None)
        elif k == K_MESSAGE_START:
            if isinstance(evt, MessageStart):
                return self.replace(evt, None)
        elif k == K_MESSAGE:
            if isinstance(evt, MessageStart) or (isinstance(evt, (Data, MessageEnd)) and self._body is not None):
                r = self.collect(evt)
                if r == 2:
                    return self.overflow()
                if r == 1:
                    m = Message.__new__(Message)
                    m.head, m.body, m.tail = self._head, self._body, (<MessageEnd>evt).tail
                    self._head = self._body = None
                    return self.replace(m, None)
                return 0
        elif k == K_MESSAGE_BODY:
            # The head and the end pass; the body between them is replaced as a whole.
            if isinstance(evt, MessageStart) or (isinstance(evt, (Data, MessageEnd)) and self._body is not None):
                r = self.collect(evt)
                if r == 2:
                    return self.overflow()
                if r == 1:
                    body, self._head, self._body = self._body, None, None
                    return self.replace(body, evt)
                if isinstance(evt, MessageStart):
                    return self.output(evt)
                return 0
        elif k == K_MESSAGE_END:
            if isinstance(evt, MessageEnd):
                return self.replace(evt, None)
        elif k == K_STREAM_START:
            if not self._started:
                self._started = True
                return self.replace(evt, None)
        elif k == K_STREAM_END:
            if isinstance(evt, StreamEnd):
                return self.replace(evt, None)
        return self.output(evt)


cdef int emit_value(Filter f, object r) except -1:
    # Turns what a callback returned into events.
    if r is None:
        return 0
    if isinstance(r, Event):
        return f.output(<Event>r)
    if isinstance(r, Message):
        return (<Message>r).emit(f.next)
    if isinstance(r, (list, tuple)):
        for x in r:
            emit_value(f, x)
        return 0
    if isinstance(r, (bytes, str, bytearray, memoryview)):
        return f.output(Data(r))
    raise TypeError('a replace callback returned %s; expected an event, a Message, bytes, str, a list or None'
                    % type(r).__name__)


