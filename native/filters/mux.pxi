# mux: the messages of many streams merged into shared sessions. A session is an instance of the .to() layout (an
# encoder, connect(), a decoder); a message goes in whole, so messages from different streams never interleave, and
# the session's replies are matched to the messages in the order they went in: output_count replies each (0 for a
# one-way message). Replies reach the stream each message came from, in that stream's order even when its messages
# went to different sessions. Sessions are pooled by a session key; a message goes to the first session of its pool
# with fewer than max_queue awaited replies and fewer than max_messages carried, or to a new one.

cdef class MuxState:
    """What every instance of one mux filter shares: its options and its session pools."""

    cdef MuxSessionPool pool(self, object key):
        p = self.pools.get(key)
        if p is None:
            p = MuxSessionPool.__new__(MuxSessionPool)
            (<MuxSessionPool>p).state = self
            (<MuxSessionPool>p).key = key
            (<MuxSessionPool>p).sessions = []
            self.pools[key] = p
        return <MuxSessionPool>p


cdef class MuxSessionPool:
    """The sessions of one session key, in the order they opened: the oldest with room takes the next message, so a
    light load keeps to few sessions and the rest go idle and close."""

    cdef MuxSession pick(self, MuxSession preferred, Context context):
        cdef MuxState st = self.state
        cdef MuxSession s
        # (The session a stream used last, if it has room: a stream's messages stay together where they can.)
        if (preferred is not None and not preferred.closed and preferred.pool is self
                and (st.max_queue <= 0 or preferred.queued < st.max_queue)
                and (st.max_messages <= 0 or preferred.messages < st.max_messages)):
            return preferred
        for x in self.sessions:
            s = <MuxSession>x
            if (st.max_queue <= 0 or s.queued < st.max_queue) and (st.max_messages <= 0 or s.messages < st.max_messages):
                return s
        s = MuxSession.__new__(MuxSession)
        s.pool = self
        self.sessions.append(s)
        # The session starts with a copy of the variables of the stream that opened it.
        s.stream = start_pipeline(st.target, context.clone() if context is not None else Context(), s)
        return s

    cdef void remove(self, MuxSession s):
        try:
            self.sessions.remove(s)
        except ValueError:
            return
        if not self.sessions:
            if self.sweeper is not None:
                self.sweeper.cancel()
                self.sweeper = None
            if self.state.pools.get(self.key) is self:
                del self.state.pools[self.key]

    cdef void watch_idle(self):
        if self.sweeper is None:
            self.sweeper = _asyncio.get_event_loop().call_later(max(0.05, self.state.max_idle / 2), self._sweep)

    def _sweep(self):
        cdef MuxSession s
        cdef double t = now()
        cdef bint idle_left = False
        self.sweeper = None
        for x in list(self.sessions):
            s = <MuxSession>x
            if s.queued == 0:
                if t - s.idle_since >= self.state.max_idle:
                    s.close()
                else:
                    idle_left = True
        if idle_left and self.sessions:
            self.watch_idle()


cdef class MuxSession(EventTarget):
    """One shared session: its pipeline's input is the messages of many streams, its output their replies."""

    cdef int send(self, MessageStart start, Data body, MessageEnd end, MuxRequest r) except -1:
        self.messages += 1
        if r is not None:
            if self.last is None:
                self.first = r
            else:
                self.last.next_in_session = r
            self.last = r
            self.queued += 1
        cdef Pipeline p = self.stream
        try:
            p.on_event(start)
            if body is not None and body.nbytes() and not self.closed:
                p.on_event(body)
            if not self.closed:
                p.on_event(end)
        except Exception as e:
            # An error inside the session's pipeline ends the session: its awaited replies will not come.
            report_error(e, p.layout.location)
            return self.lost('RuntimeError')
        if self.queued == 0 and not self.closed:
            return self.became_idle()
        return 0

    cdef int on_event(self, Event evt) except -1:
        # What the session pipeline outputs: the replies, in the order of the messages that asked for them.
        cdef MuxRequest r = self.first
        if isinstance(evt, MessageStart):
            if not self.in_reply:
                self.in_reply = True
                if r is not None:
                    return r.give(evt)
        elif isinstance(evt, Data):
            if self.in_reply and r is not None:
                return r.give(evt)
        elif isinstance(evt, MessageEnd):
            if self.in_reply:
                self.in_reply = False
                if r is None:
                    return 0                    # a reply nobody asked for
                r.give(evt)
                r.expected -= 1
                if r.expected <= 0:
                    self.first = r.next_in_session
                    if self.first is None:
                        self.last = None
                    r.next_in_session = None
                    self.queued -= 1
                    r.done = True
                    if r.owner is not None:
                        r.owner.advance()
                    if self.queued == 0 and not self.closed:
                        return self.became_idle()
        elif isinstance(evt, StreamEnd):
            return self.lost((<StreamEnd>evt).error)
        return 0

    cdef int became_idle(self) except -1:
        cdef int maxm = self.pool.state.max_messages
        if maxm > 0 and self.messages >= maxm:
            self.close()                        # it has carried all it may
            return 0
        self.idle_since = now()
        self.pool.watch_idle()
        return 0

    cdef int lost(self, object error) except -1:
        # The session's pipeline ended (the upstream closed, or failed): every request awaiting a reply from it
        # fails, and its stream ends with that error once the replies before it are out.
        cdef MuxRequest r, nxt
        cdef Pipeline p
        cdef bint replying = self.in_reply
        if self.closed:
            return 0
        self.closed = True
        self.in_reply = False
        self.pool.remove(self)
        p, self.stream = self.stream, None
        if p is not None:
            p.shutdown()
        r, self.first, self.last = self.first, None, None
        if r is not None:
            log_warning('pipyx.mux', 'mux: a session for key %r ended%s; the %d requests awaiting its replies fail'
                        % (self.pool.key, ' (%s)' % error if error is not None else '', self.queued))
        self.queued = 0
        eos = StreamEnd(error if error is not None else 'ConnectionReset')
        while r is not None:
            nxt, r.next_in_session = r.next_in_session, None
            if replying:
                r.give(new_end())               # the reply it was getting is cut short
                replying = False
            r.done = True
            r.error = eos
            if r.owner is not None:
                r.owner.advance()
            r = nxt
        return 0

    cdef void close(self):
        # Idle too long, done with max_messages, or let go: its pipeline sees its stream end.
        cdef Pipeline p = self.stream
        if self.closed:
            return
        if p is not None:
            try:
                p.on_event(STREAM_END_OK)
            except Exception as e:
                report_error(e, p.layout.location)
        try:
            self.lost(None)
        except Exception as e:
            report_error(e, None)


@cython.freelist(64)
cdef class MuxRequest:
    """One message sent into a session, awaiting its replies."""

    cdef int give(self, Event evt) except -1:
        cdef Mux m = self.owner
        if m is None:
            return 0
        if m.oldest is self:
            return m.output(evt)
        if self.held is None:
            self.held = []
        self.held.append(evt)
        return 0


cdef class Mux(Filter):
    """mux(session_key=None, output_count=1, max_idle=60, max_queue=1000, max_messages=0, max_message_size=16 MiB):
    merges the messages of many streams into shared sessions (the sub-pipeline from .to(...)) and outputs each
    message's replies to the stream it came from."""

    def __init__(self, LayoutRef target, session_key=None, output_count=1, double max_idle=60.0, int max_queue=1000,
                 int max_messages=0, Py_ssize_t max_message_size=16 << 20):
        if not callable(output_count) and not isinstance(output_count, int):
            raise TypeError('output_count is an int or a callable given the MessageStart, not %s'
                            % type(output_count).__name__)
        self.state = MuxState.__new__(MuxState)
        self.state.target = target
        self.state.session_key = session_key
        self.state.output_count = output_count
        self.state.max_idle = max_idle
        self.state.max_queue = max_queue
        self.state.max_messages = max_messages
        self.state.max_message_size = max_message_size
        self.state.pools = {}

    cdef Filter clone(self):
        cdef Mux f = Mux.__new__(Mux)
        f.state = self.state
        return f

    def sub_layouts(self):
        return (self.state.target,)

    def describe(self):
        return 'mux -> %s' % self.state.target.name

    cdef object session_key(self):
        cdef MuxState st = self.state
        cdef Context c
        if st.key_kind == 0:
            k = st.session_key
            if k is None:
                st.key_kind = 3
            elif callable(k):
                st.key_kind, st.key_fn = 2, k
            else:
                st.key_kind, st.key_value = 1, k
        if st.key_kind == 1:
            return st.key_value
        if st.key_kind == 2:
            return self.call0(st.key_fn)
        # No key: the messages of one inbound connection share a session.
        c = self.pipeline.context if self.pipeline is not None else None
        if c is None:
            return None
        return c.inbound if c.inbound is not None else c

    cdef int on_event(self, Event evt) except -1:
        cdef MuxState st
        if self.ended:
            return 0
        if self.waiting is not None:
            self.gate.close_gate()              # (again for each read: that reader pauses too)
        if isinstance(evt, MessageStart):
            if self.start is None:
                self.start = <MessageStart>evt
                self.body = None
                self.body_own = False
            return 0
        if isinstance(evt, Data):
            if self.start is None:
                return 0                        # (Data outside a message has nowhere to go)
            if self.body is None:
                self.body = <Data>evt               # a body in one piece goes on as the event it came in
            else:
                if not self.body_own:
                    # (A second piece: gathered in a Data of our own, the first event left as it was.)
                    first, self.body = self.body, Data.__new__(Data)
                    self.body.append_data(<Data>first)
                    self.body_own = True
                self.body.append_data(<Data>evt)
            st = self.state
            if st.max_message_size > 0 and self.body.nbytes() > st.max_message_size:
                log_warning('pipyx.mux', 'mux%s: a message of over %d bytes (max_message_size); ending its stream'
                            % (where(self.location), st.max_message_size))
                return self.abort(StreamEnd('BufferOverflow'))
            return 0
        if isinstance(evt, MessageEnd):
            if self.start is not None:
                return self.send_message(<MessageEnd>evt)
            return 0
        if isinstance(evt, StreamEnd):
            self.start = None
            self.body = None
            if (<StreamEnd>evt).error is not None:
                return self.abort(evt)          # the stream failed: its replies have nowhere to go
            if self.oldest is None and self.waiting is None:
                self.ended = True
                return self.output(evt)
            self.eos = <StreamEnd>evt
        return 0

    cdef int send_message(self, MessageEnd end) except -1:
        # A stream with max_queue replies awaited sends nothing more until some come: its messages wait here, and
        # the connection they came from is not read meanwhile.
        cdef MuxState st = self.state
        start, self.start = self.start, None
        body, self.body = self.body, None
        if self.waiting is None and (st.max_queue <= 0 or self.awaiting < st.max_queue):
            return self.dispatch(<MessageStart>start, <Data>body, end)
        if self.waiting is None:
            self.waiting = []
            if self.gate is None:
                self.gate = InputGate.__new__(InputGate)
            self.gate.close_gate()
        self.waiting.append((start, body, end))
        return 0

    cdef int dispatch(self, MessageStart start, Data body, MessageEnd end) except -1:
        cdef MuxState st = self.state
        cdef MuxRequest r = None
        cdef MuxSession s
        cdef Py_ssize_t n
        try:
            if not self.key_known:
                self.key = self.session_key()
                self.key_known = True
            n_given = st.output_count
            if type(n_given) is not int:
                n_given = self.call(n_given, start)
            n = n_given
            # (A key that cannot be one, a session that cannot start: this stream's error, not the connection's.)
            s = st.pool(self.key).pick(self.last_session,
                                       self.pipeline.context if self.pipeline is not None else None)
        except Exception as e:
            report_error(e, self.location)
            return self.abort(StreamEnd('RuntimeError'))
        if n > 0:
            r = MuxRequest.__new__(MuxRequest)
            r.owner = self
            r.expected = <int>n
            if self.newest is None:
                self.oldest = r
            else:
                self.newest.next_in_stream = r
            self.newest = r
            self.awaiting += 1
        self.last_session = s
        return s.send(start, body, end, r)

    cdef int advance(self) except -1:
        # Pops the answered requests at the head of this stream's queue; the next one's held replies go out.
        cdef MuxRequest r, nxt
        if self.advancing:
            return 0
        self.advancing = True
        try:
            while self.oldest is not None and self.oldest.done:
                r = self.oldest
                self.oldest = r.next_in_stream
                if self.oldest is None:
                    self.newest = None
                r.next_in_stream = None
                self.awaiting -= 1
                if r.error is not None:
                    self.advancing = False
                    return self.abort(r.error)
                nxt = self.oldest
                if nxt is not None and nxt.held is not None:
                    held, nxt.held = nxt.held, None
                    for e in held:
                        self.output(<Event>e)
        finally:
            self.advancing = False
        if self.waiting is not None and not self.ended:
            # Room again: the messages that waited go, in order, until the stream is at max_queue once more.
            while self.waiting and not self.ended and (self.state.max_queue <= 0 or
                                                       self.awaiting < self.state.max_queue):
                start, body, end = self.waiting.pop(0)
                self.dispatch(<MessageStart>start, <Data>body, <MessageEnd>end)
            if self.waiting is not None and not self.waiting:
                self.waiting = None
                self.gate.open_gate()
        if self.oldest is None and self.waiting is None and self.eos is not None and not self.ended:
            self.ended = True
            return self.output(self.eos)
        return 0

    cdef int abort(self, object eos) except -1:
        self.shutdown()
        return self.output(<Event>eos)

    cdef void shutdown(self):
        # The stream is gone: the replies to its requests still in flight will be dropped by their sessions.
        cdef MuxRequest r = self.oldest, nxt
        self.ended = True
        self.start = None
        self.body = None
        self.oldest = self.newest = None
        self.last_session = None
        self.waiting = None
        if self.gate is not None:
            self.gate.open_gate()
        while r is not None:
            nxt, r.next_in_stream = r.next_in_stream, None
            r.owner = None
            r.held = None
            r = nxt
