# HTTP tunnels. A request asking to switch protocols (Upgrade) or to open a tunnel (CONNECT) makes demux_http stop
# reading requests until the answer comes: an answer that agrees (101, 2xx to CONNECT) goes to the client without
# framing, and from then on the connection's bytes go to that request's pipeline after its MessageEnd and what the
# pipeline outputs after its response goes back as it is, until either side ends. Any other answer is a plain
# response and the connection reads requests again. accept_http_tunnel answers such requests from a script;
# connect_http_tunnel asks a proxy for a tunnel.


def http_tunnel_target():
    """The (host, port) of the CONNECT that accept_http_tunnel is answering, for the stream whose callback is
    running: `connect(http_tunnel_target)` in accept_http_tunnel's sub-pipeline. None before the request is read."""
    cdef Context c = _cur_ctx
    t = _task_scope.get()
    if t is not None:
        c = t[0]
    if c is None:
        raise RuntimeError('http_tunnel_target() is only available inside a pipeline callback')
    return c.protocol().get('http_tunnel_target')


# --- the server's half (demux_http) ---

cdef int slot_tunnel_event(ResponseSlot s, Event evt) except -1:
    # What a request that asked for a tunnel gets from its pipeline.
    cdef HttpServerBase srv = s.server
    cdef ResponseHead h
    cdef Data d
    if s.done:
        return 0
    if not s.tunneling:
        if isinstance(evt, MessageStart) and s.resp is None:
            h = as_response_head((<MessageStart>evt).head)
            if tunnel_accepted(s.tunnel, h.status):
                s.resp = h
                s.started = True
                s.tunneling = True
                wb_reset()
                write_tunnel_response_head(h)
                s.emit(wb_take())
                return tunnel_opened(srv, s)
        # Refused (or no answer at all): a plain response, and the connection reads requests again after it.
        s.tunnel = TUNNEL_NONE
        ResponseEncoder.on_event(s, evt)
        return tunnel_refused(srv, s)
    if isinstance(evt, Data):
        srv.tunnel_last = now()
        d = <Data>evt
        for i in range(d.chunk_count()):
            c = d.chunk_at(i)
            s.emit(bytes(c) if type(c) is FileChunk else c)
        return 0
    if isinstance(evt, StreamEnd):
        if (<StreamEnd>evt).error is not None:
            srv.aborting = True
        return tunnel_closed(srv, s)
    return 0                                  # the MessageEnd of the answer: the tunnel goes on


cdef int tunnel_request_ended(HttpServerBase srv, ResponseSlot s) except -1:
    # The request asking for a tunnel is read. Until its answer comes what follows is not read as requests.
    srv.tunnel_slot = s
    if s.tunneling:
        srv.decoder.state = S_TUNNEL
    else:
        srv.decoder.paused = True
    return 0


cdef int tunnel_opened(HttpServerBase srv, ResponseSlot s) except -1:
    cdef double t = srv.tunnel_idle_timeout
    srv.tunnel_last = now()
    if t > 0 and srv.tunnel_timer is None:
        timer = TunnelIdleTimer.__new__(TunnelIdleTimer)
        (<TunnelIdleTimer>timer).server = srv
        srv.tunnel_timer = _asyncio.get_event_loop().call_later(t, timer.fire)
    if s.request_done and srv.tunnel_slot is s:
        srv.decoder.state = S_TUNNEL
        if srv.decoder.paused:
            srv.decoder.resume()              # what the client sent after its request goes into the tunnel
    return 0


cdef int tunnel_refused(HttpServerBase srv, ResponseSlot s) except -1:
    if srv.tunnel_slot is s:
        srv.tunnel_slot = None
        if srv.decoder.paused:
            srv.decoder.resume()
    return 0


cdef bint tunnel_input_ended(HttpServerBase srv) except -1:
    # The client has finished sending. Into an open tunnel that is a half-close passed on: the tunnel ends when the
    # far side ends too. Before the answer, the request is answered as any other.
    cdef ResponseSlot s = srv.tunnel_slot
    if not s.tunneling:
        srv.tunnel_slot = None
        s.tunnel = TUNNEL_NONE
        return False
    if s.sub is not None:
        try:
            s.sub.on_event(STREAM_END_OK)
        except Exception as e:
            report_error(e, srv.location)
    return True


cdef int tunnel_closed(HttpServerBase srv, ResponseSlot s) except -1:
    # The tunnel's far side has ended: so does the connection. The pipeline that ended it is not told again (it may
    # still be in the middle of what it was sending): it just goes.
    cdef Pipeline p = s.sub
    s.sub = None
    if srv.tunnel_slot is s:
        srv.tunnel_slot = None
    if srv.tunnel_timer is not None:
        srv.tunnel_timer.cancel()
        srv.tunnel_timer = None
    # No request follows a tunnel, and none was cut short: the connection closes as after a last response (a
    # decoder stopped mid-message would make the close a reset, and the client would lose what was last sent).
    srv.decoder.state = S_DEAD
    srv.decoder.partial = None
    s.done = True
    s.keep_alive = False
    srv.closing = True
    srv.slot_done(s)
    if p is not None:
        # Its filters are still on the stack (the end came out of them): let it go once they have returned.
        _asyncio.get_event_loop().call_soon(_shutdown_pipeline, p)
    return 0


def _shutdown_pipeline(Pipeline p):
    p.shutdown()


cdef class TunnelIdleTimer:
    """Closes a server's tunnel after tunnel_idle_timeout without bytes either way (nginx's proxy_read_timeout)."""

    def fire(self):
        cdef HttpServerBase srv = self.server
        cdef ResponseSlot s = srv.tunnel_slot
        srv.tunnel_timer = None
        if srv.ended or s is None or not s.tunneling:
            return
        cdef double left = srv.tunnel_last + srv.tunnel_idle_timeout - now()
        if left > 0:
            srv.tunnel_timer = _asyncio.get_event_loop().call_later(left, self.fire)
            return
        try:
            if s.sub is not None:
                srv.abort_sub(s, 'IdleTimeout')
            srv.aborting = True
            tunnel_closed(srv, s)
        except Exception as e:
            report_error(e, srv.location)


# --- accept_http_tunnel ---

cdef class AcceptHttpTunnel(Filter):
    """accept_http_tunnel(on_connect): under demux_http, answers a request for a tunnel. With on_connect(host,
    port) a CONNECT is allowed (200) by a true value or None, refused (403) by False, or sent elsewhere by a
    'host:port' or (host, port); other methods get 405. With on_connect(request) (one parameter, as Pipy's
    acceptHTTPTunnel) the answer is the Message it returns (None: 200). An answer that opens the tunnel (2xx to a
    CONNECT, 101 to an Upgrade) starts the sub-pipeline, which gets the tunnel's bytes and whose output goes back to
    the client; http_tunnel_target() gives the (host, port) to connect to."""

    def __init__(self, LayoutRef target, on_connect, bint by_address):
        self.target = target
        self.on_connect = on_connect
        self.by_address = by_address

    cdef Filter clone(self):
        cdef AcceptHttpTunnel f = AcceptHttpTunnel.__new__(AcceptHttpTunnel)
        f.target = self.target
        f.on_connect = self.on_connect
        f.by_address = self.by_address
        return f

    def sub_layouts(self):
        return (self.target,)

    def describe(self):
        return 'accept_http_tunnel -> %s' % self.target.name

    cdef int on_event(self, Event evt) except -1:
        if self.sub is not None:
            return self.sub.on_event(evt)
        if self.held is not None:
            self.held.append(evt)
            return 0
        if self.answered:
            return 0
        if isinstance(evt, MessageStart):
            if self.head is None:
                self.head = as_request_head((<MessageStart>evt).head)
            return 0
        if isinstance(evt, MessageEnd):
            if self.head is not None:
                return self.decide()
            return 0
        if isinstance(evt, StreamEnd):
            self.answered = True
            return self.output(evt)
        return 0

    cdef int decide(self) except -1:
        cdef RequestHead h = self.head
        try:
            if self.by_address:
                if not is_connect_method(h):
                    return self.respond(405)
                try:
                    host, port = parse_target(h.path)
                except ValueError:
                    return self.respond(400)
                self.pipeline.context.protocol()['http_tunnel_target'] = (host, port)
                r = self.call0(lambda: self.on_connect(host, port))
            else:
                if is_connect_method(h):
                    try:
                        self.pipeline.context.protocol()['http_tunnel_target'] = parse_target(h.path)
                    except ValueError:
                        pass
                r = self.call0(lambda: self.on_connect(Message(h)))
        except Exception as e:
            self.answered = True
            return self.fail_stream(e)
        if is_awaitable(r):
            self.held = []
            self.spawn(r, self._decided)
            return 0
        return self.answer(r)

    def _decided(self, task):
        held, self.held = self.held, None
        if self.answered or task.cancelled():
            return
        dispatch_begins()
        try:
            try:
                r = task.result()
            except Exception as e:
                self.answered = True
                self.fail_stream(e)
                return
            self.answer(r)
            for e in held:
                self.on_event(<Event>e)
        except Exception as e:
            self.answered = True
            self.fail_stream(e)
        finally:
            dispatch_ends()

    cdef int answer(self, object r) except -1:
        cdef Message m
        cdef ResponseHead rh
        if self.by_address and not isinstance(r, Message):
            if r is None or r is True:
                return self.respond(200)
            if r is False:
                return self.respond(403)
            try:
                self.pipeline.context.protocol()['http_tunnel_target'] = parse_target(r)
            except (ValueError, TypeError) as e:
                self.answered = True
                return self.fail_stream(TypeError(
                    'accept_http_tunnel: on_connect returned %r; expected True, False, None, a Message or '
                    "'host:port'" % (r,)))
            return self.respond(200)
        if r is None:
            r = Message(ResponseHead(200))
        if not isinstance(r, Message):
            self.answered = True
            return self.fail_stream(TypeError('accept_http_tunnel: on_connect returned %s; expected a Message or None'
                                              % type(r).__name__))
        m = <Message>r
        rh = as_response_head(m.head) if m.head is not None else ResponseHead(200)
        m = Message(rh, m.body)
        self.answered = True
        kind = TUNNEL_CONNECT if is_connect_method(self.head) else TUNNEL_UPGRADE
        if not tunnel_accepted(kind, rh.status):
            return m.emit(self.next)
        # The answer lets the client's bytes in (those it sent behind its request come at once): they wait here
        # until the sub-pipeline is there to take them.
        self.held = []
        m.emit(self.next)
        self.sub = self.sub_pipeline(self.target, self.next)
        held, self.held = self.held, None
        self.sub.start_early()
        for e in held:
            self.sub.on_event(<Event>e)
        return 0

    cdef int respond(self, int status) except -1:
        if status >= 400:
            info = self.pipeline.context.inbound if self.pipeline is not None else None
            log_warning('pipyx.http', 'accept_http_tunnel: %s %s from %s refused with %d' % (
                self.head.method, self.head.path,
                '%s:%s' % (info.remote_address, info.remote_port) if info is not None else '?', status))
            return self.answer(Message(ResponseHead(status), STATUS_TEXT.get(status, '') + '\n'))
        return self.answer(Message(ResponseHead(status, None, 'Connection Established')))

    cdef void shutdown(self):
        self.answered = True
        self.held = None
        if self.sub is not None:
            self.sub.shutdown()


# --- connect_http_tunnel ---

cdef class HttpTunnelReturn(EventTarget):

    cdef int on_event(self, Event evt) except -1:
        if self.owner is None:
            return 0
        return self.owner.from_proxy(evt)


cdef class ConnectHttpTunnel(Filter):
    """connect_http_tunnel(address): the sub-pipeline carries HTTP to a proxy (typically mux_http -> connect(proxy));
    a CONNECT to address ('host:port', (host, port), a CONNECT Message, or a callable giving one) is sent through it,
    with Proxy-Authorization when given, and once the proxy answers 2xx the stream's bytes go through and what comes
    back is this filter's output. What the stream sends meanwhile is held (up to buffer_limit). Any other answer
    ends the stream with ConnectionRefused and one log line."""

    def __init__(self, LayoutRef target, address, authorization=None, Py_ssize_t buffer_limit=1 << 20):
        self.target = target
        self.address = address
        self.authorization = authorization
        self.buffer_limit = buffer_limit

    cdef Filter clone(self):
        cdef ConnectHttpTunnel f = ConnectHttpTunnel.__new__(ConnectHttpTunnel)
        f.target = self.target
        f.address = self.address
        f.authorization = self.authorization
        f.buffer_limit = self.buffer_limit
        return f

    def sub_layouts(self):
        return (self.target,)

    def describe(self):
        return 'connect_http_tunnel(%s) -> %s' % (
            '<callable>' if callable(self.address) else self.address, self.target.name)

    cdef int start_early(self) except -1:
        if self.sub is None and not self.failed:
            self.begin()
            if self.sub is not None:
                self.sub.start_early()
        return 0

    cdef int begin(self) except -1:
        cdef RequestHead h
        try:
            a = self.evaluate(self.address)
            if isinstance(a, Message):
                h = as_request_head((<Message>a).head)
                if not is_connect_method(h):
                    raise ValueError('connect_http_tunnel: the request given is %s, not CONNECT' % h.method)
                where = h.path
            else:
                host, port = parse_target(a)
                where = '[%s]:%d' % (host, port) if ':' in host else '%s:%d' % (host, port)
                h = RequestHead('CONNECT', where, {'host': where})
            auth = self.evaluate(self.authorization)
            if auth is not None:
                h.headers['proxy-authorization'] = str(auth)
        except Exception as e:
            self.failed = True
            return self.fail_stream(e)
        self.where = where
        self.ret = HttpTunnelReturn.__new__(HttpTunnelReturn)
        self.ret.owner = self
        self.held = []
        self.sub = self.sub_pipeline(self.target, self.ret)
        self.sub.on_event(MessageStart(h))
        return self.sub.on_event(MessageEnd())

    cdef int on_event(self, Event evt) except -1:
        if self.done:
            return self.sub.on_event(evt)
        if self.failed:
            return 0
        if self.sub is None:
            if isinstance(evt, StreamEnd):
                self.failed = True
                return self.output(evt)
            self.begin()
            if self.sub is None:
                return 0
        self.held.append(evt)
        if isinstance(evt, Data):
            self.held_size += (<Data>evt).nbytes()
            if self.held_size > self.buffer_limit:
                return self.fail('more than %d bytes to send before the proxy answered' % self.buffer_limit,
                                 'BufferOverflow')
        return 0

    cdef int from_proxy(self, Event evt) except -1:
        if self.done:
            if isinstance(evt, Data) or isinstance(evt, StreamEnd):
                return self.output(evt)
            return 0
        if self.failed:
            return 0
        if isinstance(evt, MessageStart):
            self.reply = as_response_head((<MessageStart>evt).head)
            if 200 <= self.reply.status < 300:
                # The tunnel is open (the answer's end follows): what the stream sent meanwhile goes first.
                self.done = True
                held, self.held = self.held, None
                for e in held:
                    self.sub.on_event(<Event>e)
                return 0
            return self.fail('the proxy answered %d %s' % (self.reply.status, self.reply.status_text),
                             'ConnectionRefused')
        if isinstance(evt, StreamEnd):
            err = (<StreamEnd>evt).error
            return self.fail('the proxy closed before it answered%s' % (' (%s)' % err if err else ''),
                             err or 'ConnectionRefused')
        return 0

    cdef int fail(self, str why, str error) except -1:
        self.failed = True
        self.held = None
        log_warning('pipyx.http', 'connect_http_tunnel to %s: %s' % (self.where, why))
        if self.sub is not None:
            self.sub.on_event(StreamEnd('ConnectionReset'))
        return self.output(StreamEnd(error))

    cdef void shutdown(self):
        if self.ret is not None:
            self.ret.owner = None
        if self.sub is not None:
            self.sub.shutdown()
