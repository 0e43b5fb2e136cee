# The server side of HTTP/2 (RFC 9113) under serve_http and demux_http. A connection whose first bytes are the
# HTTP/2 preface (h2c by prior knowledge, or h2 chosen by ALPN under accept_tls) is handed to an Http2ServerConn:
# each stream is a request to the server filter exactly as an HTTP/1 request is (an Http2Stream is its ResponseSlot),
# and its response is encoded as HEADERS, DATA and trailers. Flow control follows the consumer: a stream gives credit
# back once what it delivered has gone on, so a slow stream holds only its own window, never the connection's.

import base64 as _base64

cdef frozenset H2_CONNECTION_FIELDS = frozenset([
    b'connection', b'keep-alive', b'proxy-connection', b'transfer-encoding', b'upgrade'])
cdef frozenset H2_HOP_BY_HOP = frozenset([
    'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'content-length',
    'http2-settings'])


cdef class Http2Options:
    """The HTTP/2 side of serve_http and demux_http (serve_http(..., http2={...})): enabled (True: a connection that
    starts with the HTTP/2 preface speaks HTTP/2), max_concurrent_streams (100: more are refused with
    REFUSED_STREAM), initial_window_size (65535: what a stream may send before the script has taken it in),
    connection_window_size (1 MiB: the same for all streams together), max_frame_size (16384),
    max_header_list_size (65536: a request over it is answered 431), header_table_size (4096: the HPACK table the
    client may use), max_continuations (64: a header block in more CONTINUATION frames ends the connection with
    ENHANCE_YOUR_CALM), max_resets and reset_interval (200 streams reset by the client within 1 s end the connection
    with ENHANCE_YOUR_CALM), max_pending (65536: response bytes a stream holds for a client that gives no window
    before what produces them is paused)."""

    def __init__(self, enabled=True, max_concurrent_streams=100, initial_window_size=65535,
                 connection_window_size=1 << 20, max_frame_size=16384, max_header_list_size=65536,
                 header_table_size=4096, max_continuations=64, max_resets=200, reset_interval=1.0,
                 max_pending=65536):
        if not 16384 <= max_frame_size <= 16777215:
            raise ValueError('http2 max_frame_size must be from 16384 to 16777215, not %r' % max_frame_size)
        if not 0 < initial_window_size <= 0x7FFFFFFF or not 65535 <= connection_window_size <= 0x7FFFFFFF:
            raise ValueError('http2 window sizes must be up to 2^31-1 (and the connection\'s at least 65535)')
        self.enabled = enabled
        self.max_concurrent_streams = max_concurrent_streams
        self.initial_window_size = initial_window_size
        self.connection_window_size = connection_window_size
        self.max_frame_size = max_frame_size
        self.max_header_list_size = max_header_list_size
        self.header_table_size = header_table_size
        self.max_continuations = max_continuations
        self.max_resets = max_resets
        self.reset_interval = reset_interval
        self.max_pending = max_pending

    def __repr__(self):
        return ('Http2Options(enabled=%r, max_concurrent_streams=%d, initial_window_size=%d, '
                'connection_window_size=%d, max_frame_size=%d, max_header_list_size=%d, header_table_size=%d, '
                'max_continuations=%d, max_resets=%d, reset_interval=%g, max_pending=%d)' % (
                    self.enabled, self.max_concurrent_streams, self.initial_window_size,
                    self.connection_window_size, self.max_frame_size, self.max_header_list_size,
                    self.header_table_size, self.max_continuations, self.max_resets, self.reset_interval,
                    self.max_pending))


cdef Http2Options DEFAULT_HTTP2 = Http2Options()


cdef bint http2_route(HttpServerBase srv, object b) except -1:
    # The first bytes of a connection decide: the HTTP/2 preface makes it an HTTP/2 connection. True when the bytes
    # were taken here (HTTP/2, a preface still incomplete, or the HTTP/1 decoder fed from here).
    cdef Http2ServerConn c = <Http2ServerConn>srv.h2
    cdef Http2Options o
    cdef Py_ssize_t n
    if c is not None:
        c.feed(b if PyBytes_Check(b) else bytes(b))
        return True
    o = srv.limits.http2 if srv.limits.http2 is not None else DEFAULT_HTTP2
    if not o.enabled:
        srv.h2_checked = True
        return False
    had = srv.h2_sniffed
    if had is not None:
        b = <bytes>had + bytes(b)
        srv.h2_sniffed = None
    n = min(len(b), 24)
    if b[:n] != HTTP2_PREFACE[:n]:
        srv.h2_checked = True
        if had is not None:
            srv.on_bytes(b)
            return True
        return False
    if n < 24:
        srv.h2_sniffed = bytes(b)
        return True
    srv.h2_checked = True
    c = Http2ServerConn.__new__(Http2ServerConn)
    c.setup(srv, o)
    srv.h2 = c
    srv.batching += 1
    try:
        c.start()
    finally:
        srv.batching -= 1
    c.feed(bytes(b[24:]))
    return True


cdef bint http2_upgrade(HttpServerBase srv, RequestHead h) except -1:
    # An HTTP/1.1 request with Upgrade: h2c and HTTP2-Settings (and no body): answered 101, and the connection goes
    # on in HTTP/2, the request being its stream 1. True when it was taken.
    cdef Http2ServerConn c
    cdef Http2Options o = srv.limits.http2 if srv.limits.http2 is not None else DEFAULT_HTTP2
    if not o.enabled or srv.oldest is not None or h.content_length > 0 or h.chunked:
        return False
    hd = h.headers
    if 'h2c' not in [x.strip().lower() for x in str(hd.get('upgrade', '')).split(',')]:
        return False
    try:
        raw = _base64.urlsafe_b64decode(str(hd['http2-settings']).strip() + '==')
        pairs = [(int.from_bytes(raw[k:k + 2], 'big'), int.from_bytes(raw[k + 2:k + 6], 'big'))
                 for k in range(0, len(raw) - len(raw) % 6, 6)]
    except Exception:
        return False
    fields = [(b':method', h.method.encode('latin-1')), (b':path', h.path.encode('latin-1')), (b':scheme', b'http'),
              (b':authority', str(hd.get('host', '')).encode('latin-1'))]
    skip = set(conn_names.lower() for conn_names in str(hd.get('connection', '')).replace(' ', '').split(','))
    for k, v in hd.items():
        k = k.lower()
        if k in H2_HOP_BY_HOP or k in skip or k == 'host' or k == 'te':
            continue
        fields.append((k.encode('latin-1'), str(v).encode('latin-1')))
    srv.decoder.paused = True              # what follows the request is HTTP/2: http2_upgraded() takes it
    srv.h2_checked = True
    srv.write(b'HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: h2c\r\n\r\n')
    c = Http2ServerConn.__new__(Http2ServerConn)
    c.setup(srv, o)
    c.preface_left = 24
    srv.h2 = c
    c.start()
    c.apply_settings(pairs)
    c.last_stream = 1
    c.request(1, fields, True)
    return True


cdef int http2_upgraded(HttpServerBase srv) except -1:
    rest = srv.decoder.rest
    srv.decoder.rest = None
    srv.decoder.stop()
    if rest is not None:
        return (<Http2ServerConn>srv.h2).feed(bytes(rest))
    return srv.flush()


cdef class Http2StreamGate(Endpoint):
    """A stream's part in flow control (docs/design.md): congested while its response waits for the client's window;
    paused, by withholding credit, while what it delivered is congested."""

    cdef void pause_input(self):
        pass                              # read_paused is set: the stream gives no credit back

    cdef void resume_input(self):
        if self.stream is not None:
            self.stream.give_credit()


cdef class Http2Stream(ResponseSlot):
    """One request of an HTTP/2 connection, and the encoder of its response into frames."""

    cdef Http2StreamGate gate_(self):
        if self.gate is None:
            self.gate = Http2StreamGate.__new__(Http2StreamGate)
            self.gate.stream = self
        return self.gate

    cdef int on_event(self, Event evt) except -1:
        cdef Data d
        if self.finished or self.conn.dead:
            return 0
        if isinstance(evt, Data):
            d = <Data>evt
            if self.resp is None or self.done or d.nbytes() == 0:
                return 0
            if not self.started:
                if self.body_one is None:
                    self.body_one = d
                elif self.body is None:
                    self.body = [self.body_one, d]
                else:
                    self.body.append(d)
                self.body_len += d.nbytes()
                if self.body_len > BUFFER_BODY:
                    return self.flush_held()
                if not self.flush_soon:
                    # Held in the hope the whole response comes in this read: then it gets a content-length and
                    # goes out with its head (see ResponseEncoder).
                    self.flush_soon = True
                    hold(self)
                return 0
            if self.head_request:
                return 0
            for c in d.chunks():
                self.send_data(c)
            return 0
        if isinstance(evt, MessageStart):
            if self.resp is None:
                self.resp = as_response_head((<MessageStart>evt).head)
            return 0
        if isinstance(evt, MessageEnd):
            if self.resp is None:
                return 0
            self.trailers = (<MessageEnd>evt).tail or None
            self.done = True
            return self.end_response()
        if isinstance(evt, StreamEnd):
            return self.on_stream_end((<StreamEnd>evt).error)
        return 0

    cdef int flush_held(self) except -1:
        # The read ended before the response did: its head goes now, and the body streams.
        self.flush_soon = False
        if self.started or self.done or self.finished or self.resp is None:
            return 0
        self.send_head(False, -1)
        if not self.head_request:
            for x in self.held_body():
                for c in (<Data>x).chunks():
                    self.send_data(c)
        self.body = None
        self.body_one = None
        if self.conn.server.batching == 0:
            self.conn.server.flush()
        return 0

    cdef int end_response(self) except -1:
        cdef bint body, tail
        if not self.started:
            body = self.body_len > 0 and not self.head_request and status_has_body(self.resp.status)
            tail = self.trailers is not None and not self.head_request
            # HEAD: the length the body would have, or the one the response declared (a proxied HEAD).
            self.send_head(not body and not tail,
                           self.body_len if self.body_len > 0 or not self.head_request else -1)
            if self.finished:
                return 0
            if body:
                for x in self.held_body():
                    for c in (<Data>x).chunks():
                        self.send_data(c)
            self.body = None
            self.body_one = None
        self.end_pending = True
        if self.pending is None:
            return self.send_end()
        return 0

    cdef int send_head(self, bint end_stream, int64_t length) except -1:
        cdef Http2ServerConn conn = self.conn
        cdef ResponseHead r = self.resp
        self.started = True
        fields = [(b':status', str(r.status).encode())]
        declared = None
        for k, v in r.headers.items():
            k = k.lower()
            if k in H2_HOP_BY_HOP:
                if k == 'content-length':
                    declared = v
                continue
            if isinstance(v, list):
                for x in v:
                    fields.append((k, x))
            else:
                fields.append((k, v))
        if r.status >= 200 and r.status != 204 and r.status != 304:
            if length >= 0:
                fields.append((b'content-length', str(length).encode()))
            elif declared is not None:
                fields.append((b'content-length', declared))
        conn.write(h2_headers(self.id, conn.henc.encode(fields), end_stream, conn.peer_max_frame))
        if end_stream:
            self.finished = True
            conn.stream_sent(self)
        return 0

    cdef int send_data(self, object chunk) except -1:
        cdef Http2ServerConn conn = self.conn
        cdef Py_ssize_t n, i = 0, k
        cdef Http2StreamGate g
        if type(chunk) is not bytes:
            chunk = bytes(chunk)
        n = PyBytes_GET_SIZE(chunk)
        if self.pending is not None:
            self.pending.append(chunk)
            self.pending_len += n
            g = self.gate_()
            g.write_paused = True
            g.note_congestion()
            return 0
        while i < n:
            k = min(n - i, self.send_window, conn.send_window, conn.peer_max_frame)
            if k <= 0:
                # No window: the rest waits, and whatever produced it is paused until the client gives some.
                self.pending = [chunk[i:] if i else chunk]
                self.pending_len = n - i
                if conn.send_window <= 0 and not self.blocked:
                    self.blocked = True
                    conn.blocked.append(self)
                g = self.gate_()
                g.write_paused = True
                g.note_congestion()
                return 0
            conn.write(h2_data_head(self.id, k, False))
            conn.write(chunk if k == n else chunk[i:i + k])
            i += k
            self.send_window -= k
            conn.send_window -= k
        return 0

    cdef int send_pending(self) except -1:
        if self.finished:
            return 0
        if self.pending is not None:
            chunks = self.pending
            self.pending = None
            self.pending_len = 0
            for c in chunks:
                self.send_data(c)
        if self.pending is None:
            if self.gate is not None and self.gate.write_paused:
                self.gate.drained()
            if self.end_pending:
                return self.send_end()
        return 0

    cdef int send_end(self) except -1:
        cdef Http2ServerConn conn = self.conn
        cdef list fields
        self.end_pending = False
        if self.finished:
            return 0
        if self.trailers is not None and not self.head_request:
            t = self.trailers
            if isinstance(t, dict) and isinstance(t.get('headers'), dict):
                t = t['headers']
            fields = [(str(k).lower(), v) for k, v in (t.items() if hasattr(t, 'items') else t)]
            conn.write(h2_headers(self.id, conn.henc.encode(fields), True, conn.peer_max_frame))
        else:
            conn.write(h2_data_head(self.id, 0, True))
        self.finished = True
        return conn.stream_sent(self)

    cdef int on_stream_end(self, object error) except -1:
        # The request's pipeline ended: before its response, the client gets an error status; in the middle of
        # it, the stream is reset.
        cdef int status
        cdef Http2ServerConn conn = self.conn
        if self.done or self.finished or conn.dead:
            return 0
        self.done = True
        if not self.started:
            return self.answer_error(STREAM_ERROR_STATUS.get(error, 502) if error is not None else 502)
        conn.write(h2_simple(H2_RST_STREAM, 0, self.id, H2E_INTERNAL_ERROR))
        self.finished = True
        return conn.close_stream(self, None if self.request_done else 'ConnectionReset')

    cdef int deliver(self, bytes data, Py_ssize_t flow_len) except -1:
        # DATA of the request: to the server filter, then credit back unless what it went to is congested.
        cdef Http2ServerConn conn = self.conn
        cdef HttpServerBase srv = conn.server
        cdef Endpoint c
        cdef Http2StreamGate g
        self.recv_unacked += flow_len
        if PyBytes_GET_SIZE(data):
            saved = swap_congested(None)
            srv.request_body(self, data)
            c = swap_congested(saved)
            if self.req_body is not None and srv.limits.max_body_size and \
                    self.req_body.nbytes() > srv.limits.max_body_size:
                self.req_body = None
                return self.refuse(413)
            if c is not None:
                g = self.gate_()
                if c is g:
                    # Its answer waits for the client's window: no credit for more input until it has gone.
                    if g.write_paused and not g.read_paused:
                        g.read_paused = True
                        if g.waiters is None:
                            g.waiters = []
                        g.waiters.append(g)
                else:
                    swap_congested(c)
                    g.after_dispatch()
        if (self.gate is None or not self.gate.read_paused) and \
                self.recv_unacked >= conn.opts.initial_window_size // 2:
            self.give_credit()
        return 0

    cdef int refuse(self, int status) except -1:
        # A request refused by a limit (413): answered if its response has not begun, and reset so that the
        # client stops sending.
        cdef Http2ServerConn conn = self.conn
        if self.sub is not None:
            conn.server.abort_sub(self, 'BufferOverflow')
        if not self.started and not self.finished:
            self.answer_error(status)
        if not self.request_done:
            conn.write(h2_simple(H2_RST_STREAM, 0, self.id, H2E_NO_ERROR))
            self.request_done = True
        return conn.close_stream(self, 'BufferOverflow')

    cdef int answer_error(self, int status) except -1:
        text = ('%d %s\n' % (status, STATUS_TEXT.get(status, 'Error'))).encode()
        self.resp = ResponseHead(status, {'content-type': 'text/plain'})
        self.body = None
        self.body_one = Data.wrap(text)
        self.body_len = len(text)
        self.trailers = None
        self.done = True
        return self.end_response()

    cdef void give_credit(self):
        cdef Py_ssize_t n = self.recv_unacked
        if n <= 0 or self.request_done or self.conn.dead:
            return
        self.recv_unacked = 0
        self.recv_left += n
        try:
            self.conn.write(h2_simple(H2_WINDOW_UPDATE, 0, self.id, n))
            if self.conn.server.batching == 0:
                self.conn.server.flush()
        except Exception as e:
            report_error(e, None)


cdef class Http2ServerConn(Http2FrameSink):
    """The server side of one HTTP/2 connection: frames in, requests to its server filter; responses to frames."""

    cdef void setup(self, HttpServerBase srv, Http2Options o):
        self.server = srv
        self.opts = o
        self.reader = Http2FrameReader(self, o.max_frame_size, 2 * o.max_header_list_size, o.max_continuations)
        self.hdec = HpackDecoder(o.header_table_size, o.max_header_list_size, 2 * o.max_header_list_size)
        self.henc = HpackEncoder(4096)
        self.streams = {}
        self.blocked = []
        self.peer_max_frame = 16384
        self.peer_initial_window = 65535
        self.send_window = 65535

    cdef int start(self) except -1:
        cdef Http2Options o = self.opts
        settings = [(3, o.max_concurrent_streams), (4, o.initial_window_size), (5, o.max_frame_size),
                    (6, o.max_header_list_size), (2, 0)]
        if o.header_table_size != 4096:
            settings.append((1, o.header_table_size))
        self.write(h2_settings(settings))
        if o.connection_window_size > 65535:
            self.write(h2_simple(H2_WINDOW_UPDATE, 0, 0, o.connection_window_size - 65535))
        return 0

    cdef int feed(self, bytes b) except -1:
        cdef HttpServerBase srv = self.server
        cdef Py_ssize_t n
        if self.dead:
            return 0
        if self.preface_left:
            n = min(self.preface_left, len(b))
            if b[:n] != HTTP2_PREFACE[24 - self.preface_left:24 - self.preface_left + n]:
                srv.batching += 1
                try:
                    self.conn_error(H2E_PROTOCOL_ERROR, 'no HTTP/2 preface after the upgrade')
                finally:
                    srv.batching -= 1
                return srv.flush()
            self.preface_left -= n
            b = b[n:]
        srv.batching += 1
        saved = swap_congested(None)
        try:
            self.reader.feed(b)
        finally:
            srv.batching -= 1
            # A stream whose answer waits for the client's window must not stop this connection's reading: the
            # WINDOW_UPDATE that frees it comes that way. Anything else congested by this read is the caller's.
            c = swap_congested(saved)
            if c is not None and not isinstance(c, Http2StreamGate):
                swap_congested(c)
        return srv.flush()

    cdef int write(self, object b) except -1:
        return self.server.write(b)

    cdef int conn_error(self, uint32_t code, str reason) except -1:
        # The connection ends: GOAWAY with the code, the streams in flight are dropped.
        if self.dead:
            return 0
        log_warning('pipyx.http2', 'HTTP/2 connection error %d: %s' % (code, reason))
        self.write(h2_goaway(self.last_stream, code, reason.encode('utf-8', 'replace')[:200]))
        self.reader.dead = True
        self.abort_all('ProtocolError')
        self.dead = True
        self.server.closing = True
        if self.server.batching == 0:
            self.server.flush()
        return 0

    cdef int stream_error(self, uint32_t sid, uint32_t code) except -1:
        cdef Http2Stream s = self.streams.get(sid)
        self.write(h2_simple(H2_RST_STREAM, 0, sid, code))
        if s is not None:
            s.finished = True
            s.request_done = True
            self.close_stream(s, 'ProtocolError')
        return self.count_reset()

    cdef int count_reset(self) except -1:
        # A client that opens streams and has them reset (or resets them itself) costs work for no answer: bounded
        # per connection (the rapid reset attack).
        cdef double t = now()
        if t - self.resets_since > self.opts.reset_interval:
            self.resets_since = t
            self.resets = 0
        self.resets += 1
        if self.resets > self.opts.max_resets:
            return self.conn_error(H2E_ENHANCE_YOUR_CALM, 'over %d streams reset within %gs'
                                   % (self.opts.max_resets, self.opts.reset_interval))
        return 0

    # -- frames from the client -------------------------------------------------------------------------------------

    cdef int on_frame_error(self, uint32_t code, str reason) except -1:
        return self.conn_error(code, reason)

    cdef int on_settings(self, bint ack, list pairs) except -1:
        if ack:
            return 0
        self.apply_settings(pairs)
        if not self.dead:
            self.write(h2_simple(H2_SETTINGS, H2F_ACK, 0, 0))
        return 0

    cdef int apply_settings(self, list pairs) except -1:
        cdef int64_t delta
        cdef Http2Stream s
        for ident, value in pairs:
            if ident == 1:
                self.henc.set_max_table_size(min(value, 4096))
            elif ident == 2:
                if value > 1:
                    return self.conn_error(H2E_PROTOCOL_ERROR, 'SETTINGS_ENABLE_PUSH of %d' % value)
            elif ident == 4:
                if value > 0x7FFFFFFF:
                    return self.conn_error(H2E_FLOW_CONTROL_ERROR, 'SETTINGS_INITIAL_WINDOW_SIZE of %d' % value)
                delta = value - self.peer_initial_window
                self.peer_initial_window = value
                for s in list(self.streams.values()):
                    s.send_window += delta
                    if s.send_window > 0x7FFFFFFF:
                        return self.conn_error(H2E_FLOW_CONTROL_ERROR, 'a stream window over 2^31-1')
            elif ident == 5:
                if not 16384 <= value <= 16777215:
                    return self.conn_error(H2E_PROTOCOL_ERROR, 'SETTINGS_MAX_FRAME_SIZE of %d' % value)
                self.peer_max_frame = value
        for s in list(self.streams.values()):
            if s.pending is not None:
                s.send_pending()
        return 0

    cdef int on_ping(self, bint ack, bytes opaque) except -1:
        if not ack:
            self.write(h2_ping(opaque, True))
        return 0

    cdef int on_goaway(self, uint32_t last_stream, uint32_t code, bytes debug) except -1:
        # The client opens no more streams; those in flight are answered, then it closes.
        self.goaway_sent = True
        return self.finish_if_idle()

    cdef int on_priority(self, uint32_t stream, uint32_t depends_on) except -1:
        if depends_on == stream:
            return self.stream_error(stream, H2E_PROTOCOL_ERROR)
        return 0                            # priorities are advice; every stream is served as it comes

    cdef int on_push_promise(self, uint32_t stream, uint32_t promised, bytes block) except -1:
        return self.conn_error(H2E_PROTOCOL_ERROR, 'a client sent PUSH_PROMISE')

    cdef int on_window_update(self, uint32_t sid, uint32_t increment) except -1:
        cdef Http2Stream s
        if sid == 0:
            if increment == 0:
                return self.conn_error(H2E_PROTOCOL_ERROR, 'a WINDOW_UPDATE of 0 on the connection')
            self.send_window += increment
            if self.send_window > 0x7FFFFFFF:
                return self.conn_error(H2E_FLOW_CONTROL_ERROR, 'the connection window over 2^31-1')
            return self.unblock()
        s = self.streams.get(sid)
        if s is None:
            if sid > self.last_stream:
                return self.conn_error(H2E_PROTOCOL_ERROR, 'a WINDOW_UPDATE on idle stream %d' % sid)
            return 0
        if increment == 0:
            return self.stream_error(sid, H2E_PROTOCOL_ERROR)
        s.send_window += increment
        if s.send_window > 0x7FFFFFFF:
            return self.stream_error(sid, H2E_FLOW_CONTROL_ERROR)
        return s.send_pending()

    cdef int unblock(self) except -1:
        cdef Http2Stream s
        blocked, self.blocked = self.blocked, []
        for s in blocked:
            s.blocked = False
        for s in blocked:
            if self.send_window <= 0:
                if not s.blocked and not s.finished:
                    s.blocked = True
                    self.blocked.append(s)
                continue
            s.send_pending()
        return 0

    cdef int on_rst_stream(self, uint32_t sid, uint32_t code) except -1:
        cdef Http2Stream s
        if sid > self.last_stream:
            return self.conn_error(H2E_PROTOCOL_ERROR, 'RST_STREAM on idle stream %d' % sid)
        s = self.streams.get(sid)
        if s is None:
            return 0
        s.finished = True
        s.request_done = True
        self.close_stream(s, 'ConnectionReset')
        return self.count_reset()

    cdef int on_data(self, uint32_t sid, bytes data, bint end_stream, Py_ssize_t flow_len) except -1:
        cdef Http2Stream s
        self.recv_unacked += flow_len
        if self.recv_unacked >= self.opts.connection_window_size // 2:
            # The connection's window is given back as data arrives: each stream's own window bounds what waits.
            self.write(h2_simple(H2_WINDOW_UPDATE, 0, 0, self.recv_unacked))
            self.recv_unacked = 0
        s = self.streams.get(sid)
        if s is None:
            if sid > self.last_stream:
                return self.conn_error(H2E_PROTOCOL_ERROR, 'DATA on idle stream %d' % sid)
            return 0                        # on a stream already reset: what was in flight is dropped
        if s.request_done:
            return self.stream_error(sid, H2E_STREAM_CLOSED)
        s.recv_left -= flow_len
        if s.recv_left < 0:
            return self.stream_error(sid, H2E_FLOW_CONTROL_ERROR)
        s.deliver(data, flow_len)
        if end_stream and not s.request_done and s.conn is self and not self.dead:
            s.request_done = True
            self.server.request_end(s)
            if s.finished:
                self.close_stream(s, None)
        return 0

    cdef int on_headers(self, uint32_t sid, bytes block, bint end_stream, uint32_t depends_on) except -1:
        cdef Http2Stream s
        cdef list fields
        try:
            fields = self.hdec.decode(block)
        except HpackListTooLarge:
            fields = None
        except HpackError as e:
            return self.conn_error(H2E_COMPRESSION_ERROR, str(e))
        if sid % 2 == 0:
            return self.conn_error(H2E_PROTOCOL_ERROR, 'a client opened even stream %d' % sid)
        s = self.streams.get(sid)
        if s is not None:
            # Trailers: they end the request (their fields are not passed on).
            if s.request_done:
                return self.stream_error(sid, H2E_STREAM_CLOSED)
            if not end_stream:
                return self.stream_error(sid, H2E_PROTOCOL_ERROR)
            s.request_done = True
            self.server.request_end(s)
            if s.finished:
                self.close_stream(s, None)
            return 0
        if sid <= self.last_stream:
            # A stream already reset (trailers in flight), or one the client should not reuse.
            return self.write(h2_simple(H2_RST_STREAM, 0, sid, H2E_STREAM_CLOSED))
        self.last_stream = sid
        if depends_on == sid:
            return self.stream_error(sid, H2E_PROTOCOL_ERROR)
        if self.goaway_sent or len(self.streams) >= self.opts.max_concurrent_streams:
            return self.stream_error(sid, H2E_REFUSED_STREAM)
        if fields is None:
            self.write(h2_headers(sid, self.henc.encode([(b':status', b'431')]), True, self.peer_max_frame))
            if not end_stream:
                self.write(h2_simple(H2_RST_STREAM, 0, sid, H2E_NO_ERROR))
            return 0
        return self.request(sid, fields, end_stream)

    cdef int request(self, uint32_t sid, list fields, bint end_stream) except -1:
        cdef Http2Stream s
        cdef RequestHead h
        cdef Headers headers = Headers()
        cdef bytes name, value
        cdef bint regular = False
        method = path = scheme = authority = None
        for name, value in fields:
            if PyBytes_GET_SIZE(name) and name[0] == 58:        # ':'
                if regular:
                    return self.stream_error(sid, H2E_PROTOCOL_ERROR)
                if name == b':method' and method is None:
                    method = value
                elif name == b':path' and path is None:
                    path = value
                elif name == b':scheme' and scheme is None:
                    scheme = value
                elif name == b':authority' and authority is None:
                    authority = value
                elif name != b':protocol':
                    return self.stream_error(sid, H2E_PROTOCOL_ERROR)
                continue
            regular = True
            if name != name.lower() or name in H2_CONNECTION_FIELDS or (name == b'te' and value != b'trailers'):
                return self.stream_error(sid, H2E_PROTOCOL_ERROR)
            k = name.decode('latin-1')
            v = value.decode('latin-1')
            old = dict.get(headers, k)
            if old is not None:
                v = old + ('; ' if k == 'cookie' else ', ') + v
            dict.__setitem__(headers, k, v)
        if method is None or (method != b'CONNECT' and (not path or scheme is None)):
            return self.stream_error(sid, H2E_PROTOCOL_ERROR)
        if authority is not None and 'host' not in headers:
            dict.__setitem__(headers, 'host', authority.decode('latin-1'))
        headers.modified = True
        h = RequestHead.__new__(RequestHead)
        h.init_blank()
        h.method_cache = method.decode('latin-1')
        h.path_cache = path.decode('latin-1') if path is not None else authority.decode('latin-1')
        h.headers_cache = headers
        h.line_modified = True
        h.has_host = 'host' in headers
        cl = dict.get(headers, 'content-length')
        if cl is not None and cl.isdigit():
            h.content_length = int(cl)
        s = Http2Stream.__new__(Http2Stream)
        s.server = self.server
        s.conn = self
        s.id = sid
        s.req = h
        s.head_request = method == b'HEAD'
        s.keep_alive = True
        s.send_window = self.peer_initial_window
        s.recv_left = self.opts.initial_window_size
        self.streams[sid] = s
        self.server.request_start(s)
        if end_stream and not s.request_done and not self.dead:
            s.request_done = True
            self.server.request_end(s)
            if s.finished:
                self.close_stream(s, None)
        return 0

    # -- streams ending ---------------------------------------------------------------------------------------------

    cdef int stream_sent(self, Http2Stream s) except -1:
        # The response is all out (END_STREAM): the stream is over once the request is too.
        if s.request_done:
            return self.close_stream(s, None)
        return 0

    cdef int close_stream(self, Http2Stream s, object error) except -1:
        if self.streams.get(s.id) is s:
            del self.streams[s.id]
        if s.blocked:
            s.blocked = False
            if s in self.blocked:
                self.blocked.remove(s)
        s.pending = None
        s.finished = True
        if s.sub is not None:
            if error is None and s.request_done and s.done:
                self.server.end_sub(s)
            else:
                self.server.abort_sub(s, error or 'ConnectionReset')
        if s.gate is not None:
            s.gate.stream = None
            s.gate.drained()
        return self.finish_if_idle()

    cdef int finish_if_idle(self) except -1:
        if self.goaway_sent and not self.streams and not self.dead:
            self.dead = True
            self.server.closing = True
            if self.server.batching == 0:
                self.server.flush()
        return 0

    cdef void drain(self):
        # Reload or shutdown: GOAWAY now, the streams in flight are answered, new ones refused; then close.
        if self.dead or self.goaway_sent:
            return
        self.goaway_sent = True
        try:
            self.write(h2_goaway(self.last_stream, H2E_NO_ERROR, b''))
            self.finish_if_idle()
            if self.server.batching == 0:
                self.server.flush()
        except Exception as e:
            report_error(e, None)

    cdef int input_end(self, object error) except -1:
        cdef HttpServerBase srv = self.server
        self.reader.dead = True
        self.abort_all('ConnectionReset')
        self.dead = True
        if error is not None:
            srv.ended = True
            srv.output(StreamEnd(error))
            return 0
        srv.closing = True
        return srv.flush()

    cdef void abort_all(self, str error):
        cdef Http2Stream s
        for s in list(self.streams.values()):
            s.finished = True
            try:
                self.close_stream(s, error)
            except Exception as e:
                report_error(e, None)
