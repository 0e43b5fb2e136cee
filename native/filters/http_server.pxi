# The server side of HTTP/1.x, shared by serve_http and demux_http: decode requests from the client's bytes, keep
# one ResponseSlot per request so that pipelined responses go out in request order, each encoded for the client
# by its ResponseEncoder (codecs/http_response.pxi); 100-continue. Everything written while handling one
# read leaves as one Data event, so the socket sees one write.

cdef bytes CONTINUE_100 = b'HTTP/1.1 100 Continue\r\n\r\n'
cdef class ResponseSlot(ResponseEncoder):
    """One request's place in the response order: its encoded response waits for the slots ahead of it."""

    cdef int on_event(self, Event evt) except -1:
        if self.tunnel:
            return slot_tunnel_event(self, evt)      # http_tunnel.pxi
        return ResponseEncoder.on_event(self, evt)

    cdef int emit(self, object b) except -1:
        if self.server.ended or self.server.oldest is None:
            return 0                      # the connection is gone
        if self.server.oldest is self:
            self.server.write(b)
        else:
            if self.out is None:
                self.out = []
            self.out.append(b)
        return 0

    cdef int body_waiting(self) except -1:
        hold(self)
        return 0

    cdef int flush_held(self) except -1:
        if self.send_held():
            return self.server.flush()
        return 0

    cdef int response_done(self) except -1:
        return self.server.slot_done(self)

    cdef int response_cut(self) except -1:
        self.server.abort_after(self)
        return self.server.slot_done(self)

    cdef int respond(self, object r) except -1:
        # serve_http: what the handler returned.
        if r is None:
            r = Message()
        elif not isinstance(r, Message):
            if isinstance(r, (str, bytes, bytearray, Data)):
                r = Message(None, r)
            else:
                raise TypeError('a serve_http handler returned %s; expected a Message, str, bytes or None'
                                % type(r).__name__)
        return (<Message>r).emit(self)


cdef class HttpServerBase(HttpDecodingFilter):
    """Decodes requests and puts the responses in order; serve_http and demux_http say how a request is answered."""

    cdef void setup(self):
        self.decoder = FilterSink.decoder_for(self, False, self.limits)
        self.outbuf = []

    cdef int on_event(self, Event evt) except -1:
        if self.ended:
            return 0
        if isinstance(evt, Data):
            if not self.h2_checked or self.h2 is not None:
                for i in range((<Data>evt).chunk_count()):
                    self.on_bytes((<Data>evt).chunk_at(i))
                return 0
            self.batching += 1
            try:
                for i in range((<Data>evt).chunk_count()):
                    self.decoder.feed((<Data>evt).chunk_at(i))
            finally:
                self.batching -= 1
            if self.h2 is not None:
                return http2_upgraded(self)
            if not self.decoder.idle() or self.arrival_deadline != 0:
                self.watch_arrival()
            return self.flush()
        if isinstance(evt, StreamEnd):
            return self.on_input_end((<StreamEnd>evt).error)
        if isinstance(evt, MessageStart):
            # A server reads requests as bytes from a connection. Given messages (placed under demux_http, or after
            # a decoder), it would wait for bytes that never come and the client would get nothing: say so instead.
            self.ended = True
            return self.fail_stream(RuntimeError(
                '%s reads HTTP requests as bytes from a connection, but was given a message: under demux_http, '
                'answer with replace_message' % self.describe()))
        return 0

    cdef int on_bytes(self, object b) except -1:
        if self.ended:
            return 0
        if (not self.h2_checked or self.h2 is not None) and http2_route(self, b):
            return 0
        self.batching += 1
        try:
            self.decoder.feed(b)
        finally:
            self.batching -= 1
        if self.h2 is not None:
            return http2_upgraded(self)       # Upgrade: h2c: what came after the request is HTTP/2
        if not self.decoder.idle() or self.arrival_deadline != 0:
            self.watch_arrival()
        return self.flush()

    cdef void watch_arrival(self):
        # After a read that left a request half here: its head must be all here header_timeout after its first
        # byte, and its body may pause for body_timeout at most (nginx's client_header_timeout and
        # client_body_timeout). Each byte resetting one idle timer would let a client trickling a byte at a time
        # hold the connection for ever. A request that arrives whole in one read costs one test above.
        cdef double t, limit
        cdef int st = self.decoder.state
        if self.ended or st == S_DEAD or st == S_TUNNEL:   # (a tunnel has its own idle timeout)
            self.arrival_deadline = 0
            return
        if st == S_HEAD:
            if self.decoder.idle():
                self.head_since = 0
                self.arrival_deadline = 0
                return
            t = now()
            if self.head_since == 0:
                self.head_since = t
            limit = self.limits.header_timeout
            self.arrival_deadline = self.head_since + limit if limit > 0 else 0
        else:
            self.head_since = 0
            limit = self.limits.body_timeout
            self.arrival_deadline = now() + limit if limit > 0 else 0
        if self.arrival_deadline != 0 and self.arrival_timer is None:
            self.arrival_timer = _asyncio.get_event_loop().call_later(limit, self._arrival_check)

    def _arrival_check(self):
        self.arrival_timer = None
        if self.ended or self.arrival_deadline == 0:
            return
        cdef double left = self.arrival_deadline - now()
        out = self.pipeline.output if self.pipeline is not None else None
        if left <= 0 and isinstance(out, Endpoint) and (<Endpoint>out).read_paused:
            # Not the client's pause: we stopped reading it while the far side drained.
            self.arrival_deadline = now() + (self.limits.body_timeout or self.limits.header_timeout)
            left = self.arrival_deadline - now()
        if left > 0:
            self.arrival_timer = _asyncio.get_event_loop().call_later(left, self._arrival_check)
            return
        self.arrival_deadline = 0
        self.decoder.stop()
        try:
            self.on_error(408)
        except Exception as e:
            report_error(e, self.location)

    cdef bint busy(self):
        return self.oldest is not None or (self.h2 is not None and bool(self.h2.streams))

    cdef bint input_unread(self):
        # A connection closed between requests (keep-alive ending, Connection: close, a drain) has nothing more
        # coming; one closed on a refused or half-read request may, as nginx's lingering_close heuristics judge.
        # HTTP/2: the client may have frames in flight when the connection ends.
        return self.current is not None or self.decoder.mid_message() or self.h2 is not None

    cdef int write(self, object b) except -1:
        if type(b) is FileChunk and not self.next.takes_file_spans():
            b = bytes(b)                  # only a connection sends a file span as it is; anything else gets bytes
        if self.out_one is None:
            self.out_one = b
        else:
            self.outbuf.append(b)
        if self.batching == 0:
            return self.flush()
        return 0

    cdef int flush(self) except -1:
        cdef Data d
        if self.out_one is not None:
            b, self.out_one = self.out_one, None
            if not self.outbuf:
                self.output_bytes(b)
            else:
                d = Data.of_chunks([b] + self.outbuf)
                self.outbuf = []
                self.output(d)
        if self.closing and self.oldest is None and not self.ended:
            self.ended = True
            self.output(STREAM_END_OK)
        return 0

    cdef void drain(self):
        # Answer the requests in flight, then close.
        if self.h2 is not None:
            self.h2.drain()
            return
        self.closing = True
        if self.current is None and self.tunnel_slot is None:    # (a tunnel runs until one side ends it)
            self.decoder.stop()
        try:
            self.flush()
        except Exception as e:
            report_error(e, self.location)

    cdef ResponseSlot new_slot(self, RequestHead h):
        cdef ResponseSlot s = ResponseSlot.__new__(ResponseSlot)
        s.server = self
        s.req = h
        s.head_request = h.is_head_method()
        s.keep_alive = h.keep_alive
        s.need_continue = h.expect_continue and h.version == 11 and (h.content_length > 0 or h.chunked)
        if self.tunnels:
            s.tunnel = request_tunnel_kind(h)
        return s

    cdef int on_head(self, HttpHead head) except -1:
        cdef RequestHead h = <RequestHead>head
        cdef ResponseSlot s
        if self.closing:
            self.decoder.stop()
            return 0
        if h.connection_upgrade and http2_upgrade(self, h):
            return 0
        if self.oldest is None and self.answer_now(h):
            return 0
        s = self.new_slot(h)
        if not s.keep_alive:
            self.closing = True
        self.enqueue(s)
        self.current = s
        if not (s.need_continue and self.oldest is s):
            return self.request_start(s)
        # The client waits for 100 Continue before it sends the body. An answer given from the head alone (a
        # refusal) goes instead of the 100, and closes: the client may then never send the body the decoder waits
        # for. Otherwise the 100 goes once the request's pipeline has seen the head.
        keep_alive, s.keep_alive = s.keep_alive, False
        self.request_start(s)
        if s.resp is None and not s.done and s.server is self:
            s.keep_alive = keep_alive
            s.need_continue = False
            self.write(CONTINUE_100)
        else:
            s.need_continue = False
            self.closing = True
        return 0

    cdef int on_body(self, object chunk) except -1:
        if self.current is not None:
            return self.request_body(self.current, chunk)
        if self.tunnel_slot is not None:
            self.tunnel_last = now()
            return self.request_body(self.tunnel_slot, chunk)
        return 0

    cdef int on_end(self) except -1:
        cdef ResponseSlot s = self.current
        if s is not None:
            self.current = None
            s.request_done = True
            if s.tunnel:
                tunnel_request_ended(self, s)            # http_tunnel.pxi
            return self.request_end(s)
        return 0

    cdef int on_error(self, int status) except -1:
        # A malformed or oversized request: answer it after what is already queued, then close. One that has its
        # answer already (given from its head) gets no second one: the connection just closes after it.
        cdef ResponseSlot s
        if self.current is not None:
            s = self.current
            self.current = None
            answered = s.started or s.done
            if s.sub is not None:
                self.abort_sub(s, 'ProtocolError')
            if answered:
                self.closing = True
                return self.slot_done(s)
            self.unlink(s)
        s = ResponseSlot.__new__(ResponseSlot)
        s.server = self
        s.req = RequestHead.__new__(RequestHead)
        s.req.version = 11
        s.started = True
        s.done = True
        self.closing = True
        self.enqueue(s)
        s.emit(error_response(status, False))
        return self.slot_done(s)

    cdef int slot_done(self, ResponseSlot s) except -1:
        # Pops every finished slot at the head of the queue and lets the next one's held output go.
        cdef ResponseSlot nxt
        while self.oldest is not None and self.oldest.done:
            s = self.dequeue()
            if s.sub is not None and s.request_done:
                self.end_sub(s)
            if not s.keep_alive:
                self.closing = True
            if self.aborting or (self.closing and not s.keep_alive):
                if s.sub is not None:
                    self.abort_sub(s, 'ConnectionReset')    # answered, but the rest of its request won't come
                self.abort_queued()
                self.decoder.stop()
                break
            if self.oldest is not None:
                nxt = self.oldest
                if nxt.need_continue:
                    nxt.need_continue = False
                    self.write(CONTINUE_100)
                if nxt.out is not None:
                    for b in nxt.out:
                        self.write(b)
                    nxt.out = None
        if self.input_ended and self.oldest is None:
            self.closing = True
        if self.batching == 0:
            self.flush()
        return 0

    cdef void end_sub(self, ResponseSlot s):
        # The exchange is over: the request's pipeline gets its StreamEnd, then goes away.
        cdef Pipeline p = s.sub
        s.sub = None
        try:
            p.on_event(STREAM_END_OK)
        except Exception as e:
            report_error(e, self.location)
        p.shutdown()

    cdef void abort_after(self, ResponseSlot s):
        self.aborting = True

    cdef int on_input_end(self, object error) except -1:
        self.input_ended = True
        if self.h2 is not None:
            return self.h2.input_end(error)
        if error is not None:
            # The client is gone: nothing more can be written.
            self.shutdown()
            self.ended = True
            self.output(StreamEnd(error))
            return 0
        if self.tunnel_slot is not None and tunnel_input_ended(self):     # http_tunnel.pxi
            return 0
        if self.current is not None and not self.current.request_done:
            # The client stopped sending mid-body: the request can never be whole. Answered 400 (unless its
            # answer has begun) and the connection closes, as nginx does, instead of waiting for a timeout.
            self.decoder.stop()
            return self.on_error(400)
        if self.oldest is None:
            self.closing = True
        return self.flush()

    cdef void shutdown(self):
        self.ended = True
        if self.tunnel_timer is not None:
            self.tunnel_timer.cancel()
            self.tunnel_timer = None
        if self.h2 is not None:
            self.h2.abort_all('ConnectionReset')
        if self.arrival_timer is not None:
            self.arrival_timer.cancel()
            self.arrival_timer = None
        FilterSink.detach(self.decoder)
        self.abort_queued()

    cdef void enqueue(self, ResponseSlot s):
        # Slots wait in a linked list, oldest first: a connection holds one or a few, and a list would be grown
        # and shrunk (reallocated) for every request.
        if self.newest is None:
            self.oldest = s
        else:
            self.newest.next_slot = s
        self.newest = s

    cdef ResponseSlot dequeue(self):
        cdef ResponseSlot s = self.oldest
        self.oldest = s.next_slot
        if self.oldest is None:
            self.newest = None
        s.next_slot = None
        return s

    cdef void unlink(self, ResponseSlot s):
        cdef ResponseSlot prev = None, x = self.oldest
        while x is not None and x is not s:
            prev, x = x, x.next_slot
        if x is None:
            return
        if prev is None:
            self.oldest = s.next_slot
        else:
            prev.next_slot = s.next_slot
        if self.newest is s:
            self.newest = prev
        s.next_slot = None

    cdef void abort_queued(self):
        # Every slot still waiting is dropped, the queue emptied first: their pipelines see their stream end, and
        # what they answer to that finds no queue to go in.
        cdef ResponseSlot s = self.oldest, nxt
        self.oldest = self.newest = None
        while s is not None:
            nxt, s.next_slot = s.next_slot, None
            if s.sub is not None:
                self.abort_sub(s, 'ConnectionReset')
            s = nxt

    cdef void abort_sub(self, ResponseSlot s, str error):
        # The request will get no answer (the client left, or the connection is closing): its pipeline still sees
        # its stream end, so what it holds (an upstream session, a balancer's allocation) is let go.
        cdef Pipeline p = s.sub
        s.sub = None
        s.done = True
        try:
            p.on_event(StreamEnd(error))
        except Exception as e:
            report_error(e, self.location)
        p.shutdown()

    cdef bint answer_now(self, RequestHead h) except -1:
        # A server that can answer a request from its head alone, with nothing queued before it, does it here
        # without a slot; the decoder then skips the request's body.
        return False

    cdef int request_start(self, ResponseSlot s) except -1:
        return 0

    cdef int request_body(self, ResponseSlot s, object chunk) except -1:
        return 0

    cdef int request_end(self, ResponseSlot s) except -1:
        return 0


