# serve_http: every request is answered by a handler, or by a constant response encoded once per variant.

cdef class ServeHTTP(HttpServerBase):
    """serve_http(handler): answers each request with handler(request Message) -> response Message (or str, bytes,
    None, or an awaitable of one). A constant Message is encoded once (per variant: keep-alive, HTTP/1.0, HEAD) and reused."""

    def __init__(self, handler, HttpLimits limits=None, FileAnswerer files=None):
        # files: when the handler is a Directory's serve, the native fast path for its memory-cached files.
        self.handler = handler
        self.limits = limits if limits is not None else DEFAULT_LIMITS
        self.files = files
        if not callable(handler):
            if not isinstance(handler, Message):
                handler = Message(None, handler)
                self.handler = handler
            self.canned = {}

    cdef Filter clone(self):
        cdef ServeHTTP f = ServeHTTP.__new__(ServeHTTP)
        f.handler = self.handler
        f.canned = self.canned
        f.files = self.files
        if self.canned is not None:
            if self.canned_plain is None:
                self.canned_plain = self.canned_response(True, 11, False)
            f.canned_plain = self.canned_plain
        f.limits = self.limits
        f.setup()
        return f

    cdef bytes canned_response(self, bint keep_alive, int version, bint head_request):
        key = (keep_alive, version == 10, head_request)
        b = self.canned.get(key)
        if b is None:
            m = <Message>self.handler
            wb_reset()
            write_response_head(as_response_head(m.head), m.body.nbytes(), False, head_request, version, keep_alive)
            if not head_request and status_has_body(as_response_head(m.head).status):
                wb_obj(m.body.to_bytes())
            b = wb_take()
            self.canned[key] = b
        return <bytes>b

    cdef bint answer_now(self, RequestHead h) except -1:
        cdef bint head_request
        if self.files is not None:
            return self.files.answer(self, h)
        if self.canned is None or (h.expect_continue and (h.content_length > 0 or h.chunked)):
            return False
        head_request = h.is_head_method()
        if h.keep_alive and h.version == 11 and not head_request:
            self.write(self.canned_plain)
        else:
            if not h.keep_alive:
                self.closing = True
            self.write(self.canned_response(h.keep_alive, h.version, head_request))
        return True

    cdef int request_start(self, ResponseSlot s) except -1:
        if self.canned is not None and type(s) is ResponseSlot:
            s.started = True
            s.done = True
            s.emit(self.canned_response(s.keep_alive, s.req.version, s.head_request))
            return self.slot_done(s)
        s.req_body = Data.__new__(Data)
        return 0

    cdef int request_body(self, ResponseSlot s, object chunk) except -1:
        if s.req_body is not None:
            s.req_body.append_chunk(chunk)
        return 0

    cdef int request_end(self, ResponseSlot s) except -1:
        cdef Message m
        if s.done:
            return 0
        if self.canned is not None:
            return s.respond(self.handler)      # an HTTP/2 stream: the constant Message is encoded into frames
        m = Message.__new__(Message)
        m.head = s.req
        m.body = s.req_body
        s.req_body = None
        try:
            r = self.call(self.handler, m)
            if is_awaitable(r):
                self.spawn(r, lambda task, s=s: self._answered(s, task))
                return 0
            return s.respond(r)
        except Exception as e:
            report_error(e, self.location)
            return s.on_stream_end('RuntimeError')

    def _answered(self, ResponseSlot s, task):
        if self.ended or s.done:
            return
        try:
            if task.cancelled():
                return
            try:
                r = task.result()
            except BaseException as e:
                report_error(e, self.location)
                s.on_stream_end('RuntimeError')
                return
            s.respond(r)
        except Exception as e:
            report_error(e, self.location)
            s.on_stream_end('RuntimeError')
        self.flush()

    def describe(self):
        return 'serve_http'


