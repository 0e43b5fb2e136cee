# accept_socks and connect_socks: a SOCKS handshake (codecs/socks.pxi) in front of a stream that is then relayed as
# raw bytes through a sub-pipeline.


def socks_target():
    """The (host, port) the SOCKS client asked accept_socks to connect to, for the stream whose callback is running:
    `connect(socks_target)` in accept_socks's sub-pipeline. None before the request is read."""
    cdef Context c = _cur_ctx
    t = _task_scope.get()
    if t is not None:
        c = t[0]
    if c is None:
        raise RuntimeError('socks_target() is only available inside a pipeline callback')
    return c.protocol().get('socks_target')


cdef class AcceptSocks(Filter):
    """accept_socks(on_connect): speaks the server side of SOCKS5, SOCKS4 or SOCKS4a with the client. auth(user,
    password) checks a SOCKS5 login (and makes one required); on_connect(host, port, user) allows a CONNECT by
    returning a true value. Once allowed, the rest of the stream goes through the sub-pipeline, whose output is this
    filter's output; socks_target() gives the requested (host, port). A refusal or a malformed handshake gets the
    protocol's error reply, one log line, and the connection closed."""

    def __init__(self, LayoutRef target, on_connect=None, auth=None):
        self.target = target
        self.on_connect = on_connect
        self.auth = auth

    cdef Filter clone(self):
        cdef AcceptSocks f = AcceptSocks.__new__(AcceptSocks)
        f.target = self.target
        f.on_connect = self.on_connect
        f.auth = self.auth
        return f

    def sub_layouts(self):
        return (self.target,)

    def describe(self):
        return 'accept_socks -> %s' % self.target.name

    cdef int on_event(self, Event evt) except -1:
        if self.sub is not None:
            return self.sub.on_event(evt)
        if self.refused:
            return 0
        if self.held is not None:
            self.held.append(evt)
            return 0
        if isinstance(evt, Data):
            if self.server is None:
                self.server = SocksServer(self.auth is not None)
            return self.answer(self.server.feed((<Data>evt).to_bytes()))
        if isinstance(evt, StreamEnd):
            self.refused = True
            return self.output(evt)          # gone before the handshake ended
        return 0

    cdef int answer(self, int r) except -1:
        cdef SocksServer s = self.server
        while r == SOCKS_CHECK_AUTH or r == SOCKS_CHECK_CONNECT:
            user, password, host, port = s.user, s.password, s.host, s.port
            try:
                if r == SOCKS_CHECK_AUTH:
                    ok = self.call0(lambda: self.auth(user, password))
                else:
                    self.pipeline.context.protocol()['socks_target'] = (host, port)
                    ok = True if self.on_connect is None else self.call0(lambda: self.on_connect(host, port, user))
            except Exception as e:
                self.refused = True
                return self.fail_stream(e)
            if is_awaitable(ok):
                # (a login checked against a database, say): the stream waits, holding what comes meanwhile
                self.waiting = r
                self.held = []
                self.spawn(ok, self._decided)
                return 0
            r = self.decide(r, ok)
        out = s.take_output()
        if r == SOCKS_FAILED:
            if out:
                self.output(Data.wrap(out))
            return self.refuse(s.error)
        if out:
            self.output(Data.wrap(out))
        if r == SOCKS_DONE:
            rest = s.take_rest()
            self.server = None
            self.sub = self.sub_pipeline(self.target, self.next)
            if rest:
                self.sub.on_event(Data.wrap(rest))
        return 0

    cdef int decide(self, int r, object ok) except? -2:
        return self.server.accept_auth(bool(ok)) if r == SOCKS_CHECK_AUTH else self.server.accept_connect(bool(ok))

    def _decided(self, task):
        held, self.held = self.held, None
        if self.refused or self.server is None or task.cancelled():
            return                            # the stream went away meanwhile
        dispatch_begins()
        try:
            try:
                ok = task.result()
            except Exception as e:
                self.refused = True
                self.fail_stream(e)
                return
            self.answer(self.decide(self.waiting, ok))
            for i in range(len(held)):
                if self.held is not None:     # waiting again (a login, then the CONNECT): keep the order
                    self.held.extend(held[i:])
                    break
                self.on_event(<Event>held[i])
        except Exception as e:
            self.refused = True
            self.fail_stream(e)
        finally:
            dispatch_ends()

    cdef int refuse(self, str why) except -1:
        self.refused = True
        self.server = None
        info = self.pipeline.context.inbound if self.pipeline is not None else None
        log_warning('pipyx.socks', 'SOCKS client%s refused: %s' % (
            ' %s:%s' % (info.remote_address, info.remote_port) if info is not None else '', why))
        return self.output(StreamEnd('ProtocolError'))

    # First in a connection's pipeline, this filter answers for its sub-pipeline once the handshake is over (an HTTP
    # server behind a SOCKS handshake is still an HTTP server to the listener).
    cdef void drain(self):
        if self.sub is not None:
            self.sub.drain()

    cdef bint busy(self):
        return self.sub is not None and self.sub.busy()

    cdef bint input_unread(self):
        return self.sub is None or self.sub.input_unread()

    cdef void shutdown(self):
        self.refused = True
        self.held = None
        if self.sub is not None:
            self.sub.shutdown()


cdef class SocksReturn(EventTarget):

    cdef int on_event(self, Event evt) except -1:
        if self.owner is None:
            return 0
        return self.owner.from_proxy(evt)


cdef class ConnectSocks(Filter):
    """connect_socks(address): the sub-pipeline is a connection to a SOCKS5 proxy (typically connect(proxy)); a
    CONNECT to address ('host:port', or a callable giving it) is made through it, logging in with user and password
    when given, and then the stream's bytes go through. What the stream sends meanwhile is held (up to
    buffer_limit). A proxy that refuses ends the stream with ConnectionRefused and one log line."""

    def __init__(self, LayoutRef target, address, user=None, password=None, Py_ssize_t buffer_limit=1 << 20):
        self.target = target
        self.address = address
        self.user = None if user is None else str(user)
        self.password = None if password is None else str(password)
        self.buffer_limit = buffer_limit

    cdef Filter clone(self):
        cdef ConnectSocks f = ConnectSocks.__new__(ConnectSocks)
        f.target = self.target
        f.address = self.address
        f.user = self.user
        f.password = self.password
        f.buffer_limit = self.buffer_limit
        return f

    def sub_layouts(self):
        return (self.target,)

    def describe(self):
        return 'connect_socks(%s) -> %s' % ('<callable>' if callable(self.address) else self.address, self.target.name)

    cdef int start_early(self) except -1:
        if self.sub is None and not self.failed:
            self.begin()
            if self.sub is not None:
                self.sub.start_early()
        return 0

    cdef int begin(self) except -1:
        try:
            host, port = parse_target(self.evaluate(self.address))
            self.client = SocksClient(host, port, self.user, self.password)
        except Exception as e:
            self.failed = True
            return self.fail_stream(e)
        self.ret = SocksReturn.__new__(SocksReturn)
        self.ret.owner = self
        self.held = []
        self.sub = self.sub_pipeline(self.target, self.ret)
        return self.sub.on_event(Data.wrap(self.client.start()))

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
        cdef int r
        if self.done:
            return self.output(evt)
        if self.failed:
            return 0
        if isinstance(evt, Data):
            r = self.client.feed((<Data>evt).to_bytes())
            out = self.client.take_output()
            if out:
                self.sub.on_event(Data.wrap(out))
            if r == SOCKS_FAILED:
                return self.fail(self.client.error, 'ConnectionRefused')
            if r == SOCKS_DONE:
                self.done = True
                rest = self.client.take_rest()
                self.client = None
                if rest:
                    self.output(Data.wrap(rest))
                held, self.held = self.held, None
                for e in held:
                    self.sub.on_event(<Event>e)
            return 0
        if isinstance(evt, StreamEnd):
            self.failed = True
            err = (<StreamEnd>evt).error
            log_warning('pipyx.socks', 'connect_socks to %s:%s: the proxy closed during the handshake%s' % (
                self.client.host, self.client.port, ' (%s)' % err if err else ''))
            return self.output(StreamEnd(err or 'ConnectionRefused'))
        return 0

    cdef int fail(self, str why, str error) except -1:
        self.failed = True
        self.held = None
        log_warning('pipyx.socks', 'connect_socks to %s:%s: %s' % (
            self.client.host if self.client is not None else '?', self.client.port if self.client is not None else 0,
            why))
        if self.sub is not None:
            self.sub.on_event(StreamEnd('ProtocolError'))    # the connection to the proxy closes
        return self.output(StreamEnd(error))

    cdef void shutdown(self):
        if self.ret is not None:
            self.ret.owner = None
        if self.sub is not None:
            self.sub.shutdown()
