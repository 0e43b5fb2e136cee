# mux_http: many request streams share a pool of upstream sessions. A session is one instance of the layout given to
# .to() (typically connect(target)) carrying HTTP/1.1 bytes; it serves one request at a time and goes back to its
# pool when the response is complete, until it has been idle too long or has carried max_messages requests.


cdef class MuxOptions:

    def __init__(self, max_idle=60.0, max_messages=0, HttpLimits limits=None, retry_idempotent=True,
                 buffer_chunked_body=1024 * 1024):
        self.max_idle = max_idle
        self.max_messages = max_messages
        self.limits = limits if limits is not None else HttpLimits(max_body_size=0)
        self.retry_idempotent = retry_idempotent
        self.buffer_chunked_body = buffer_chunked_body or 0


# Methods a request may be sent again with (RFC 9110, 9.2.2): the same request twice does what it does once.
cdef frozenset IDEMPOTENT_METHODS = frozenset(('GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'))


cdef class SessionPool:
    """The idle sessions for one session key: a stack in idle[:count], the most recently used on top. The list only
    grows (its tail holds None): a pool that empties and fills with every request must not reallocate each time."""

    cdef HttpClientSession take(self, double now):
        cdef HttpClientSession s
        while self.count:
            self.count -= 1
            s = <HttpClientSession>self.idle[self.count]
            self.idle[self.count] = None
            if now - s.idle_since < self.shared.opts.max_idle:
                return s
            s.close()
        return None

    cdef void put(self, HttpClientSession s, double now):
        s.idle_since = now
        if self.count < len(self.idle):
            self.idle[self.count] = s
        else:
            self.idle.append(s)
        self.count += 1
        if self.sweeper is None:
            self.sweeper = s.loop.call_later(max(0.5, self.shared.opts.max_idle / 2), self._sweep)

    cdef void remove(self, HttpClientSession s):
        cdef Py_ssize_t i
        for i in range(self.count):
            if self.idle[i] is s:
                self.count -= 1
                self.idle[i] = self.idle[self.count]
                self.idle[self.count] = None
                return

    def _sweep(self):
        cdef HttpClientSession s
        cdef Py_ssize_t i
        self.sweeper = None
        if not self.count:
            return
        cdef double t = now()
        keep = []
        for i in range(self.count):
            s = <HttpClientSession>self.idle[i]
            if t - s.idle_since >= self.shared.opts.max_idle:
                s.close()
            else:
                keep.append(s)
        self.idle = keep
        self.count = len(keep)
        if keep:
            self.sweeper = (<HttpClientSession>keep[0]).loop.call_later(
                max(0.5, self.shared.opts.max_idle / 2), self._sweep)


cdef class MuxShared:
    """What every instance of one mux_http filter shares: its options and its pools."""

    cdef SessionPool pool(self, object key):
        p = self.pools.get(key)
        if p is None:
            p = SessionPool.__new__(SessionPool)
            (<SessionPool>p).idle = []
            (<SessionPool>p).key = key
            (<SessionPool>p).shared = self
            self.pools[key] = p
        return <SessionPool>p


cdef class HttpClientSession(HttpDecodingFilter):
    """One upstream session: the session pipeline, the response decoder, and the request it is serving."""

    cdef int on_event(self, Event evt) except -1:
        # What the session pipeline outputs: the upstream's bytes, or its end.
        if isinstance(evt, Data):
            if self.user is None:
                self.close()              # bytes nobody asked for: the session is out of step
                return 0
            self.got_response = True
            for i in range((<Data>evt).chunk_count()):
                self.decoder.feed((<Data>evt).chunk_at(i))
            return 0
        if isinstance(evt, StreamEnd):
            return self.on_session_end((<StreamEnd>evt).error)
        return 0

    cdef int on_bytes(self, object b) except -1:
        if self.user is None:
            self.close()
            return 0
        self.got_response = True
        return self.decoder.feed(b)

    cdef int on_session_end(self, object error) except -1:
        cdef MuxHTTP u
        if self.closed:
            return 0
        self.closed = True
        self.reusable = False
        self.decoder.feed_eof()
        u = self.user
        self.user = None
        self.stream.shutdown()
        FilterSink.detach(self.decoder)
        if self.pool is not None:
            self.pool.remove(self)
        if u is not None:
            u.session_lost(self, error)
        return 0

    cdef int on_head(self, HttpHead head) except -1:
        cdef MuxHTTP u = self.user
        self.reusable = head.keep_alive
        if u is not None and self.decoder.state == S_TUNNEL:
            # 101 to an Upgrade, 2xx to a CONNECT: the session is the client's stream's for good. The answer is a
            # whole message; the tunnel's bytes follow it.
            self.tunnel = True
            self.reusable = False
            u.tunnel = True
            u.response_done = True
            if self.peer is not None:
                self.peer.expect_reply(False)     # silence in a tunnel is no late answer
            u.output(new_start(head))
            return u.output(new_end())
        if u is not None:
            return u.output(new_start(head))
        return 0

    cdef int on_body(self, object chunk) except -1:
        if self.user is not None:
            return self.user.output(Data.wrap(chunk) if PyBytes_Check(chunk) else Data(chunk))
        return 0

    cdef int on_end(self) except -1:
        cdef MuxHTTP u = self.user
        if self.peer is not None:
            self.peer.expect_reply(False)
        if u is not None:
            u.response_done = True
            u.output(new_end())
            u.release()
        return 0

    cdef int on_error(self, int status) except -1:
        # The upstream sent something that is not HTTP: drop the session; the request gets a 502.
        cdef MuxHTTP u = self.user
        self.user = None
        self.close()
        if u is not None:
            u.session_lost(self, 'ProtocolError')
        return 0

    cdef void close(self):
        if not self.closed:
            self.closed = True
            self.user = None
            self.stream.on_event(STREAM_END_OK)
            self.stream.shutdown()
            FilterSink.detach(self.decoder)


cdef class MuxHTTP(Filter):
    """mux_http(session_key=None, max_idle=60, max_messages=0): sends each request over a pooled upstream session
    (the sub-pipeline from .to(...)) and outputs the response."""

    def __init__(self, LayoutRef target, session_key=None, MuxOptions opts=None):
        self.shared = MuxShared.__new__(MuxShared)
        self.shared.target = target
        self.shared.session_key = session_key
        self.shared.opts = opts if opts is not None else MuxOptions()
        self.shared.pools = {}

    cdef Filter clone(self):
        cdef MuxHTTP f = MuxHTTP.__new__(MuxHTTP)
        f.shared = self.shared
        return f

    def sub_layouts(self):
        return (self.shared.target,)

    def describe(self):
        return 'mux_http -> %s' % self.shared.target.name

    cdef object session_key(self):
        # Default key: the target of the connect() the session layout starts with, so each target gets a pool.
        cdef MuxShared sh = self.shared
        cdef PipelineLayout l
        if sh.key_kind == 0:
            k = sh.session_key
            if k is None:
                l = sh.target.layout
                if l is not None:
                    k = l.first_target()
            if callable(k):
                sh.key_kind, sh.key_fn = 2, k
            else:
                sh.key_kind, sh.key_value = 1, k
        if sh.key_kind == 1:
            return sh.key_value
        return self.call0(sh.key_fn)

    cdef HttpClientSession acquire(self, bint fresh):
        cdef SessionPool pool = self.shared.pool(self.key)
        cdef HttpClientSession s = None
        if not fresh:
            s = pool.take(now())
        if s is None:
            s = HttpClientSession.__new__(HttpClientSession)
            s.pool = pool
            s.loop = _asyncio.get_event_loop()
            s.decoder = FilterSink.decoder_for(s, True, self.shared.opts.limits)
            s.stream = start_pipeline(self.shared.target, self.pipeline.context.clone(), s)
            s.peer = s.stream.first_filter()
            s.encoder = MessageEncoder(s.stream, False)
            s.encoder.keep = True
            s.encoder.hold_unsized = self.shared.opts.buffer_chunked_body
        pool.active += 1
        s.user = self
        s.got_response = False
        s.reusable = True
        s.messages += 1
        return s

    cdef void release(self):
        # The response is complete: the session goes back to the pool if it can serve another request.
        cdef HttpClientSession s = self.session
        cdef int maxm = self.shared.opts.max_messages
        if s is None or not self.request_done:
            return
        self.session = None
        self.finished = True
        s.pool.active -= 1
        s.user = None
        if s.closed or not s.reusable or (maxm > 0 and s.messages >= maxm):
            s.close()
        else:
            s.pool.put(s, now())

    cdef int on_event(self, Event evt) except -1:
        if self.finished:
            return 0
        if isinstance(evt, MessageStart):
            if self.session is not None:
                return 0
            try:
                self.key = self.session_key()
            except Exception as e:
                self.finished = True
                return self.fail_stream(e)
            self.session = self.acquire(False)
            self.encoder = self.session.encoder
            self.encoder.start((<MessageStart>evt).head)
            self.request = <RequestHead>self.encoder.head
            self.session.decoder.head_request = self.request.is_head_method()
            self.session.decoder.connect_request = is_connect_method(self.request)
            if self.session.peer is not None:
                self.session.peer.expect_reply(True)
            return 0
        if self.session is None:
            if isinstance(evt, StreamEnd):
                # The request ended before it was sent (an error upstream of here): pass the end on.
                self.finished = True
                return self.output(evt)
            return 0
        if self.tunnel:
            if isinstance(evt, Data) or isinstance(evt, StreamEnd):
                return self.session.stream.on_event(evt)    # a StreamEnd half-closes; the upstream's end ends it
            return 0
        if isinstance(evt, Data):
            self.encoder.data(<Data>evt)
            if self.encoder.broken:
                return self.fail_request()
            return 0
        if isinstance(evt, MessageEnd):
            self.request_done = True
            self.encoder.end()
            if self.encoder.broken:
                return self.fail_request()
            if self.response_done:
                self.release()
            return 0
        if isinstance(evt, StreamEnd):
            if self.response_done and self.request_done:
                self.release()                  # (the end came while the response's end was going out)
                return 0
            # The response or the request is unfinished (answered before its body was all sent): the upstream
            # connection is out of step and goes.
            self.abandon()
            if (<StreamEnd>evt).error is not None and not self.response_done:
                return self.output(evt)         # the request failed on its way here: that is its answer
            return 0
        return 0

    cdef int fail_request(self) except -1:
        # The request body did not match its Content-Length: the upstream connection is out of step; drop it.
        self.abandon()
        return self.output(StreamEnd('ProtocolError'))

    cdef void abandon(self):
        cdef HttpClientSession s = self.session
        if s is not None:
            self.session = None
            s.pool.active -= 1
            s.user = None
            s.close()
        self.finished = True

    cdef int session_lost(self, HttpClientSession s, object error) except -1:
        # The upstream closed, or connect gave up on it. Sent again on a new connection only as nginx would: a
        # reused connection that failed before any of the answer came back (its keep-alive ran out as the request
        # went), with the whole request still at hand, and a method that may be repeated. A timeout is the answer:
        # the upstream may be working on the request, so it is never sent twice.
        if s is not self.session:
            return 0
        self.session = None
        s.pool.active -= 1
        if self.tunnel:
            self.finished = True          # the far end of the tunnel has ended it
            return self.output(StreamEnd(error))
        if self.may_retry(s, error):
            self.retried = True
            whole = self.encoder.whole
            self.session = self.acquire(True)
            self.session.decoder.head_request = s.decoder.head_request
            self.encoder = self.session.encoder
            if self.session.peer is not None:
                self.session.peer.expect_reply(True)
            return self.session.stream.on_event(Data.wrap(whole))
        if s.got_response:
            log_warning('pipyx.http', 'mux_http: the response to %s %s stopped: %s' % (
                self.request.method, self.request.path, error if error is not None else 'upstream closed'))
        self.finished = True
        return self.output(StreamEnd(error if error is not None else 'ConnectionReset'))

    cdef bint may_retry(self, HttpClientSession s, object error):
        if self.retried or s.got_response or s.messages <= 1 or not self.request_done or self.encoder.whole is None:
            return False
        if error is not None and error.endswith('Timeout'):
            return False
        return self.shared.opts.retry_idempotent and self.request.method in IDEMPOTENT_METHODS

    cdef void shutdown(self):
        if self.session is not None:
            self.abandon()
