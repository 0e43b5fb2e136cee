# mux_fastcgi: request messages to a FastCGI application server (php-fpm and the like). A session is one instance of
# the layout given to .to() (typically connect(address)) carrying FastCGI records; it serves one request at a time
# (request id 1, FCGI_KEEP_CONN set) and goes back to its pool when END_REQUEST has come, until it has been idle
# max_idle seconds or has carried max_messages requests. The application's STDOUT is a CGI response: its header block
# becomes the response head (Status, Location), the rest its body; STDERR is logged.

import collections as _collections
import posixpath as _posixpath
from urllib.parse import unquote as _unquote


cdef class FastCgiClientOptions:
    """mux_fastcgi's options (see pipyx/filters/fastcgi.py)."""

    def __init__(self, root=None, script_filename=None, index='index.php', params=None, double max_idle=60.0,
                 int max_messages=0, Py_ssize_t max_header_size=16384, Py_ssize_t buffer_body=1 << 20,
                 int max_connections=5):
        self.root = root
        self.script_filename = script_filename
        self.index = index
        self.params = params
        self.max_idle = max_idle
        self.max_messages = max_messages
        self.max_header_size = max_header_size
        self.buffer_body = buffer_body
        self.max_connections = max_connections


cdef class FastCgiPool:
    """The connections of one session key: at most max_connections open, the most recently used idle one taken
    first, the requests beyond them waiting in turn. (A php-fpm worker serves one connection until it closes: more
    kept-open connections than workers would leave requests waiting on connections no worker reads.)"""

    cdef FastCgiSession acquire(self, MuxFastCGI user):
        # An idle connection, a new one, or None: the request waits in turn for one to come free.
        cdef FastCgiSession s
        cdef double t = now()
        cdef int cap = self.shared.opts.max_connections
        while self.idle:
            s = <FastCgiSession>self.idle.pop()
            if t - s.idle_since < self.shared.opts.max_idle and not s.closed:
                return s
            s.close()
        if cap <= 0 or self.open_count < cap:
            return self.open_session(user)
        if self.waiters is None:
            self.waiters = _collections.deque()
        self.waiters.append(user)
        return None

    cdef FastCgiSession open_session(self, MuxFastCGI user):
        cdef FastCgiSession s = FastCgiSession.__new__(FastCgiSession)
        s.pool = self
        s.loop = _asyncio.get_event_loop()
        s.reader = FastCgiRecordReader()
        self.open_count += 1
        s.stream = start_pipeline(self.shared.target, user.pipeline.context.clone(), s)
        s.peer = s.stream.first_filter()
        return s

    cdef void put(self, FastCgiSession s):
        # A connection that has finished a request: the next waiting request's, else idle.
        cdef MuxFastCGI w
        while self.waiters:
            w = <MuxFastCGI>self.waiters.popleft()
            if w.waiting and not w.finished:
                w.waiting = False
                try:
                    w.attach(s)
                except Exception as e:
                    report_error(e, w.location)
                return
        s.idle_since = now()
        self.idle.append(s)
        if self.sweeper is None:
            self.sweeper = s.loop.call_later(max(0.5, self.shared.opts.max_idle / 2), self._sweep)

    cdef void gone(self, FastCgiSession s):
        # A connection has closed: its place goes to the next waiting request.
        self.open_count -= 1
        try:
            self.idle.remove(s)
        except ValueError:
            pass
        self.hand_on()

    cdef void hand_on(self):
        cdef MuxFastCGI w
        cdef int cap = self.shared.opts.max_connections
        while self.waiters and (cap <= 0 or self.open_count < cap):
            w = <MuxFastCGI>self.waiters.popleft()
            if w.waiting and not w.finished:
                w.waiting = False
                try:
                    w.attach(self.open_session(w))
                except Exception as e:
                    report_error(e, w.location)

    def _sweep(self):
        cdef FastCgiSession s
        cdef double t = now()
        self.sweeper = None
        for x in list(self.idle):
            s = <FastCgiSession>x
            if t - s.idle_since >= self.shared.opts.max_idle:
                s.close()
        if self.idle:
            self.sweeper = (<FastCgiSession>self.idle[0]).loop.call_later(
                max(0.5, self.shared.opts.max_idle / 2), self._sweep)


cdef class MuxFastCgiShared:
    """What every instance of one mux_fastcgi filter shares: its options and its pools."""

    cdef FastCgiPool pool(self, object key):
        p = self.pools.get(key)
        if p is None:
            p = FastCgiPool.__new__(FastCgiPool)
            (<FastCgiPool>p).idle = []
            (<FastCgiPool>p).key = key
            (<FastCgiPool>p).shared = self
            self.pools[key] = p
        return <FastCgiPool>p


cdef class FastCgiSession(EventTarget):
    """One connection to the application: its records in, the request it serves."""

    cdef int on_event(self, Event evt) except -1:
        cdef Py_ssize_t i
        if isinstance(evt, Data):
            for i in range((<Data>evt).chunk_count()):
                self.take((<Data>evt).chunk_at(i))
            return 0
        if isinstance(evt, StreamEnd):
            return self.lost((<StreamEnd>evt).error)
        return 0

    cdef int on_bytes(self, object b) except -1:
        return self.take(b)

    cdef int take(self, object chunk) except -1:
        cdef int t
        cdef MuxFastCGI u
        if self.closed:
            return 0
        if self.user is None:
            self.close()                        # bytes nobody asked for: the connection is out of step
            return 0
        self.reader.feed(chunk)
        while not self.closed:
            try:
                t = self.reader.next_record()
            except ValueError as e:
                log_warning('pipyx.fastcgi', 'mux_fastcgi: the application sent something else than FastCGI '
                            'records (%s); closing its connection' % e)
                u = self.user
                self.close()
                if u is not None:
                    u.session_lost('ProtocolError')
                return 0
            if t < 0:
                return 0
            u = self.user
            if u is None or self.reader.request_id != 1:
                continue                        # (management records, or a request id that is not ours)
            if t == FCGI_STDOUT:
                u.on_stdout(self.reader.content)
            elif t == FCGI_STDERR:
                if self.reader.content:
                    log_warning('pipyx.fastcgi', 'mux_fastcgi: the application says on stderr: %s'
                                % self.reader.content[:2000].decode('utf-8', 'replace').rstrip())
            elif t == FCGI_END_REQUEST:
                u.on_end_request(self.reader.content)
        return 0

    cdef int lost(self, object error) except -1:
        cdef MuxFastCGI u
        if self.closed:
            return 0
        self.closed = True
        u, self.user = self.user, None
        self.stream.shutdown()
        if u is not None:
            u.session_lost(error)
        self.pool.gone(self)
        return 0

    cdef void close(self):
        if not self.closed:
            self.closed = True
            self.user = None
            try:
                self.stream.on_event(STREAM_END_OK)
            except Exception as e:
                report_error(e, None)
            self.stream.shutdown()
            self.pool.gone(self)


cdef str script_name_of(str path):
    # The path without its query, percent-decoded and with dot segments resolved inside the root: "/../x" is "/x".
    cdef str p = path.partition('?')[0]
    if '%' in p:
        p = _unquote(p, 'utf-8', 'surrogateescape')
    p = _posixpath.normpath('/' + p)
    if p.startswith('//'):
        p = p[1:]
    if path.partition('?')[0].endswith('/') and not p.endswith('/'):
        p += '/'
    return p


cdef dict default_fastcgi_params(object head, Context c, FastCgiClientOptions opts):
    # What a CGI script expects to find (RFC 3875, 4.1), from an HTTP request head; nginx's fastcgi_params as a guide.
    cdef dict params = {}
    cdef str path, script
    if isinstance(head, dict) and 'params' in head:
        params.update(head['params'])        # (a head that carries its own params, as Pipy's muxFastCGI takes)
        return params
    h = as_request_head(head)
    path = h.path
    script = script_name_of(path)
    if script.endswith('/') and opts.index:
        script += opts.index
    query = path.partition('?')[2]
    params['GATEWAY_INTERFACE'] = 'CGI/1.1'
    params['SERVER_SOFTWARE'] = 'pipyx'
    params['SERVER_PROTOCOL'] = 'HTTP/1.0' if h.version == 10 else 'HTTP/1.1'
    params['REQUEST_METHOD'] = h.method
    params['REQUEST_URI'] = path
    params['DOCUMENT_URI'] = script
    params['SCRIPT_NAME'] = script
    params['QUERY_STRING'] = query
    if opts.root is not None:
        root = str(opts.root).rstrip('/')
        params['DOCUMENT_ROOT'] = root
        params['SCRIPT_FILENAME'] = root + script
    if opts.script_filename is not None:
        params['SCRIPT_FILENAME'] = opts.script_filename
    if c is not None and c.inbound is not None:
        i = c.inbound
        params['REMOTE_ADDR'] = i.remote_address
        params['REMOTE_PORT'] = i.remote_port
        params['SERVER_ADDR'] = i.local_address
        params['SERVER_PORT'] = i.local_port
    headers = h.headers
    host = headers.get('host')
    if host:
        params['SERVER_NAME'] = host.rpartition(':')[0] if host.count(':') == 1 else host
    for name, value in headers.items():
        if name == 'content-type':
            params['CONTENT_TYPE'] = value
        elif name == 'content-length':
            params['CONTENT_LENGTH'] = value
        elif name == 'proxy' or '_' in name:
            # (HTTP_PROXY would be read as a proxy setting by the application's HTTP client: "httpoxy". A name with
            # an underscore would be mistaken for one with a dash.)
            continue
        else:
            params['HTTP_' + name.upper().replace('-', '_')] = value if isinstance(value, str) else str(value)
    return params


cdef class MuxFastCGI(Filter):
    """mux_fastcgi(...): sends each request message to a FastCGI application over a pooled connection (the
    sub-pipeline from .to(...)) and outputs its response."""

    def __init__(self, LayoutRef target, session_key=None, FastCgiClientOptions opts=None):
        self.shared = MuxFastCgiShared.__new__(MuxFastCgiShared)
        self.shared.target = target
        self.shared.session_key = session_key
        self.shared.opts = opts if opts is not None else FastCgiClientOptions()
        self.shared.pools = {}

    cdef Filter clone(self):
        cdef MuxFastCGI f = MuxFastCGI.__new__(MuxFastCGI)
        f.shared = self.shared
        return f

    def sub_layouts(self):
        return (self.shared.target,)

    def describe(self):
        return 'mux_fastcgi -> %s' % self.shared.target.name

    cdef object session_key(self):
        k = self.shared.session_key
        if k is None:
            l = self.shared.target.layout
            return l.first_target() if l is not None else None
        if callable(k):
            return self.call0(k)
        return k

    cdef int on_event(self, Event evt) except -1:
        cdef FastCgiClientOptions opts = self.shared.opts
        cdef FastCgiPool pool
        cdef FastCgiSession s
        cdef Data body
        if self.finished:
            return 0
        if isinstance(evt, MessageStart):
            if self.head is not None:
                return 0
            head = (<MessageStart>evt).head
            try:
                params = default_fastcgi_params(head, self.pipeline.context if self.pipeline is not None else None,
                                                opts)
                extra = opts.params
                if extra is not None:
                    if callable(extra):
                        extra = self.call(extra, head)
                    if extra:
                        params.update(extra)
                key = self.session_key()
                pool = self.shared.pool(key)
            except Exception as e:
                self.finished = True
                return self.fail_stream(e)
            self.head = head if head is not None else {}
            self.params = params
            # The application reads CONTENT_LENGTH bytes of STDIN: a body of unknown length is gathered first.
            self.sized = (isinstance(head, HttpHead) and not (<HttpHead>head).chunked) or 'CONTENT_LENGTH' in params
            self.pool = pool
            s = pool.acquire(self)
            if s is None:
                self.waiting = True
                return 0
            return self.attach(s)
        if self.waiting:
            # Held until a connection comes free; the reader pauses meanwhile.
            if isinstance(evt, Data):
                if self.held is None:
                    self.held = Data.__new__(Data)
                self.held.append_data(<Data>evt)
                if self.gate is None:
                    self.gate = InputGate.__new__(InputGate)
                self.gate.close_gate()
            elif isinstance(evt, MessageEnd):
                self.request_done = True
            elif isinstance(evt, StreamEnd):
                self.waiting = False
                self.finished = True
                self.held = None
                if self.gate is not None:
                    self.gate.open_gate()
                if (<StreamEnd>evt).error is not None:
                    return self.output(evt)
            return 0
        if self.session is None:
            if isinstance(evt, StreamEnd):
                self.finished = True
                return self.output(evt)
            return 0
        if isinstance(evt, Data):
            if self.request_done or not (<Data>evt).nbytes():
                return 0
            if self.sized:
                return self.send(fastcgi_records(FCGI_STDIN, 1, evt))
            if self.held is None:
                self.held = Data.__new__(Data)
            self.held.append_data(<Data>evt)
            if self.held.nbytes() > opts.buffer_body:
                log_warning('pipyx.fastcgi', 'mux_fastcgi%s: a request body of unknown length over %d bytes '
                            '(buffer_body); refused' % (where(self.location), opts.buffer_body))
                self.abandon()
                return self.output(StreamEnd('BufferOverflow'))
            return 0
        if isinstance(evt, MessageEnd):
            if self.request_done:
                return 0
            self.request_done = True
            if not self.sized:
                body, self.held = self.held, None
                self.params['CONTENT_LENGTH'] = str(body.nbytes() if body is not None else 0)
                self.send_head()
                if body is not None and self.session is not None:
                    self.send(fastcgi_records(FCGI_STDIN, 1, body))
            if self.session is not None:
                self.send(fastcgi_records(FCGI_STDIN, 1, b''))
            if self.response_done:
                self.release()
            return 0
        if isinstance(evt, StreamEnd):
            if self.response_done and self.request_done:
                self.release()
                return 0
            self.abandon()
            if (<StreamEnd>evt).error is not None and not self.response_done:
                return self.output(evt)
            return 0
        return 0

    cdef int attach(self, FastCgiSession s) except -1:
        # The request's connection: what came of the request so far goes out on it.
        cdef Data body
        s.user = self
        s.messages += 1
        self.session = s
        if s.peer is not None:
            s.peer.expect_reply(True)
        if self.gate is not None:
            self.gate.open_gate()
        if self.sized:
            self.send_head()
            if self.held is not None:
                body, self.held = self.held, None
                self.send(fastcgi_records(FCGI_STDIN, 1, body))
        if self.request_done:
            # (The whole request came while it waited.)
            self.request_done = False
            return self.on_event(new_end())
        return 0

    cdef int send_head(self) except -1:
        cdef bytes begin = fastcgi_record(FCGI_BEGIN_REQUEST, 1,
                                          bytes((0, FCGI_RESPONDER, FCGI_KEEP_CONN, 0, 0, 0, 0, 0)))
        cdef Data d
        try:
            pairs = fastcgi_params(self.params)
        except Exception as e:
            self.abandon()
            return self.fail_stream(e)
        self.params = None
        d = fastcgi_records(FCGI_PARAMS, 1, pairs) if pairs else Data.__new__(Data)
        d.append_chunk(fastcgi_record(FCGI_PARAMS, 1, b''))
        out = Data.wrap(begin)
        out.append_data(d)
        return self.send(out)

    cdef int send(self, Data d) except -1:
        cdef FastCgiSession s = self.session
        if s is None or s.closed:
            return 0
        try:
            s.stream.on_event(d)
        except Exception as e:
            report_error(e, s.stream.layout.location)
            self.abandon()
            return self.output(StreamEnd('RuntimeError'))
        return 0

    cdef int on_stdout(self, bytes content) except -1:
        cdef Py_ssize_t i, body_at
        if self.response_done:
            return 0
        if self.response_started:
            if content:
                return self.output(Data.wrap(content))
            return 0
        if not content:
            return 0
        if self.cgi_head is None:
            self.cgi_head = bytearray()
        self.cgi_head += content
        b = self.cgi_head
        i = b.find(b'\r\n\r\n')
        body_at = i + 4
        j = b.find(b'\n\n')
        if j >= 0 and (i < 0 or j < i):
            i, body_at = j, j + 2
        if i < 0 or i > self.shared.opts.max_header_size:
            if i >= 0 or len(b) > self.shared.opts.max_header_size:
                return self.answer_error('ProtocolError', 'a CGI header block of over %d bytes (max_header_size)'
                                         % self.shared.opts.max_header_size)
            return 0
        try:
            status, reason, fields = parse_cgi_head(bytes(b[:i]))
        except ValueError as e:
            return self.answer_error('ProtocolError', str(e))
        self.cgi_head = None
        self.response_started = True
        self.output(new_start(ResponseHead(status, fields, reason)))
        if body_at < len(b):
            self.output(Data.wrap(bytes(b[body_at:])))
        return 0

    cdef int on_end_request(self, bytes content) except -1:
        cdef int protocol_status = content[4] if len(content) >= 8 else -1
        if self.response_done:
            return 0
        if protocol_status != FCGI_REQUEST_COMPLETE:
            return self.answer_error('ConnectionRefused', 'the application refused the request (protocol status %d%s)'
                                     % (protocol_status, ': overloaded' if protocol_status == FCGI_OVERLOADED else ''))
        if not self.response_started:
            if self.cgi_head:
                # (Output that never ended its header block: taken as headers alone.)
                b, self.cgi_head = bytes(self.cgi_head), None
                try:
                    status, reason, fields = parse_cgi_head(b)
                except ValueError as e:
                    return self.answer_error('ProtocolError', str(e))
                self.response_started = True
                self.output(new_start(ResponseHead(status, fields, reason)))
            else:
                return self.answer_error('ProtocolError', 'the application ended the request without a response')
        self.response_done = True
        if self.session is not None and self.session.peer is not None:
            self.session.peer.expect_reply(False)
        self.output(new_end())
        self.release()
        return 0

    cdef int answer_error(self, str error, str why) except -1:
        # The application's answer cannot be used: its connection goes; the request ends with the error (before
        # its response has started, the HTTP server answers 502).
        log_warning('pipyx.fastcgi', 'mux_fastcgi%s: %s' % (where(self.location), why))
        self.abandon()
        return self.output(StreamEnd(error))

    cdef void release(self):
        # The exchange is complete on both sides: the connection goes back to its pool, if it may serve another.
        cdef FastCgiSession s = self.session
        cdef int maxm = self.shared.opts.max_messages
        if s is None or not self.request_done:
            return
        self.session = None
        self.finished = True
        s.user = None
        if s.closed or (maxm > 0 and s.messages >= maxm):
            s.close()
        else:
            s.pool.put(s)

    cdef void abandon(self):
        cdef FastCgiSession s = self.session
        self.finished = True
        self.held = None
        if s is not None:
            self.session = None
            s.user = None
            s.close()

    cdef int session_lost(self, object error) except -1:
        self.session = None
        if self.finished:
            return 0
        self.finished = True
        if self.response_started:
            log_warning('pipyx.fastcgi', 'mux_fastcgi: the response stopped: %s'
                        % (error if error is not None else 'the application closed its connection'))
        return self.output(StreamEnd(error if error is not None else 'ConnectionReset'))

    cdef void shutdown(self):
        if self.waiting:
            self.waiting = False                # (its pool skips it when its turn comes)
            self.finished = True
            self.held = None
        if self.session is not None:
            self.abandon()
