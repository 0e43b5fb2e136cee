# The handle_* family: callbacks that look at events and let them pass. CallbackFilter, their base, is shared with
# replace_*: it holds a stream's events while a callback's awaitable runs.

import sys as _sys

KIND_NAMES = ('stream_start', 'message_start', 'data', 'message', 'message_end', 'stream_end', 'message_body')
DEFAULT_MESSAGE_SIZE_LIMIT = 16 * 1024 * 1024


cdef class CallbackFilter(Filter):
    """A filter that calls user code and may have to wait for what it returns; events meanwhile are held."""

    cdef void _copy_from(self, CallbackFilter p):
        self.fn = p.fn
        self.kind = p.kind
        self.size_limit = p.size_limit
        self.truncate = p.truncate

    cdef int on_event(self, Event evt) except -1:
        if self._failed:
            return 0
        if self._held is not None:
            self._held.append(evt)
            return 0
        return self.process(evt)

    cdef int process(self, Event evt) except -1:
        return self.output(evt)

    cdef int resume(self) except -1:
        held, self._held = self._held, None
        for i in range(len(held)):
            if self._held is not None:
                self._held.extend(held[i:])
                break
            if self._failed:
                break
            self.process(held[i])
        return 0

    cdef int fail(self, object exc) except -1:
        self._failed = True
        self._held = None
        return self.fail_stream(exc)

    cdef object invoke(self, object arg):
        return self.call(self.fn, arg)

    cdef int run_callback(self, object arg, Event passthrough) except -1:
        # Calls fn(arg); passthrough (if any) goes out after the callback is done, awaited or not.
        try:
            r = self.invoke(arg)
        except Exception as e:
            return self.fail(e)
        if is_awaitable(r):
            self._held = []
            self._after = passthrough
            self.spawn(r, self._done_waiting)
            return 0
        try:
            self.result(r)
        except Exception as e:
            return self.fail(e)
        if passthrough is not None and not self._failed:
            self.output(passthrough)
        return 0

    def _done_waiting(self, task):
        if self._failed or task.cancelled():
            return
        try:
            r = task.result()
        except BaseException as e:
            self.fail(e)
            return
        # The stream goes on from the event loop, not from a read: an error further down (a filter's callable
        # raising) has nobody above to catch it, so it ends the stream here, reported with its line.
        dispatch_begins()
        try:
            self.go_on(r)
        except Exception as e:
            self.fail(e)
        finally:
            dispatch_ends()

    cdef int go_on(self, object r) except -1:
        held, self._held = self._held, None
        after, self._after = self._after, None
        self.result(r)
        if after is not None and not self._failed:
            self.output(after)
        if self._held is not None:      # the output re-entered and is waiting again: keep the order
            self._held.extend(held)
            return 0
        self._held = held
        return self.resume()

    cdef int result(self, object r) except -1:
        # What handle_* does with a callback's return value: nothing.
        return 0

    cdef int collect(self, Event evt) except -1:
        # For *_message and *_message_body: gathers MessageStart + Data into one message; returns 1 at MessageEnd,
        # 2 when the body grew past size_limit (the filter then ends the stream: overflow()).
        if isinstance(evt, MessageStart):
            self._head = (<MessageStart>evt).head
            self._body = Data.__new__(Data)
            return 0
        if isinstance(evt, Data):
            if self._body is not None:
                if self._body.nbytes() + (<Data>evt).nbytes() > self.size_limit:
                    if not self.truncate:
                        return 2
                    if self._body.nbytes() < self.size_limit:
                        self._body.append_data(<Data>(<Data>evt).slice(0, self.size_limit - self._body.nbytes()))
                    return 0
                self._body.append_data(<Data>evt)
            return 0
        if isinstance(evt, MessageEnd):
            return 1 if self._body is not None else 0
        return 0

    cdef int overflow(self) except -1:
        self._failed = True
        self._held = None
        self._head = self._body = None
        return overflow_stream(self, 'a message body is over size_limit (%d bytes)' % self.size_limit)

    def describe(self):
        return '%s_%s' % ('handle' if type(self) is HandleFilter else 'replace', KIND_NAMES[self.kind])


cdef class HandleFilter(CallbackFilter):
    """handle_<kind>(callback): calls callback(event or message) and passes every event on unchanged."""

    def __init__(self, int kind, fn, size_limit=DEFAULT_MESSAGE_SIZE_LIMIT, bint truncate=False):
        if not callable(fn):
            raise TypeError('handle_%s needs a callable' % KIND_NAMES[kind])
        self.fn = fn
        self.kind = kind
        self.size_limit = size_limit
        self.truncate = truncate

    cdef Filter clone(self):
        cdef HandleFilter f = HandleFilter.__new__(HandleFilter)
        f._copy_from(self)
        return f

    cdef int process(self, Event evt) except -1:
        cdef int k = self.kind
        cdef int r
        cdef Message m
        if k == K_DATA:
            if isinstance(evt, Data):
                return self.run_callback(evt, evt)
        elif k == K_MESSAGE_START:
            if isinstance(evt, MessageStart):
                return self.run_callback(evt, evt)
        elif k == K_MESSAGE or k == K_MESSAGE_BODY:
            r = self.collect(evt)
            if r == 2:
                return self.overflow()
            if r == 1:
                if k == K_MESSAGE_BODY:
                    body, self._head, self._body = self._body, None, None
                    return self.run_callback(body, evt)
                m = Message.__new__(Message)
                m.head, m.body, m.tail = self._head, self._body, (<MessageEnd>evt).tail
                self._head = self._body = None
                return self.run_callback(m, evt)
        elif k == K_MESSAGE_END:
            if isinstance(evt, MessageEnd):
                return self.run_callback(evt, evt)
        elif k == K_STREAM_START:
            if not self._started:
                self._started = True
                return self.run_callback(evt, evt)
        elif k == K_STREAM_END:
            if isinstance(evt, StreamEnd):
                return self.run_callback(evt, evt)
        return self.output(evt)


