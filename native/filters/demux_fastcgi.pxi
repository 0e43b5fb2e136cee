# demux_fastcgi: the server side of FastCGI (a web server such as nginx is the client). Each request on a connection
# (BEGIN_REQUEST, PARAMS, STDIN) goes to its own instance of the .to() layout as one message: a FastCgiRequestHead
# made from its params (method, path, headers from HTTP_*) and the STDIN as its body. The sub-pipeline's output message
# goes back as a CGI response in STDOUT records (Status and header fields, an empty line, the body), then
# END_REQUEST. Requests are told apart by id, so a client may interleave them; without FCGI_KEEP_CONN the connection
# ends after the answer.


cdef class FastCgiRequestHead(RequestHead):
    """A FastCGI request as an HTTP request head (method, path, headers), with params: every name-value pair it came
    with; role (1: responder) and keep_conn (the client keeps the connection open)."""

    def __repr__(self):
        return 'FastCgiRequestHead(%r, %r)' % (self.method, self.path)


cdef FastCgiRequestHead fastcgi_request_head(list params):
    cdef FastCgiRequestHead h = FastCgiRequestHead.__new__(FastCgiRequestHead)
    cdef dict p = dict(params)
    cdef Headers headers = Headers()
    h.init_blank()
    h.params = p
    h.method_cache = p.get('REQUEST_METHOD') or 'GET'
    path = p.get('REQUEST_URI')
    if not path:
        path = p.get('SCRIPT_NAME') or '/'
        if p.get('QUERY_STRING'):
            path += '?' + p['QUERY_STRING']
    h.path_cache = path
    h.line_modified = True
    h.version = 10 if p.get('SERVER_PROTOCOL') == 'HTTP/1.0' else 11
    for name, value in params:
        if name.startswith('HTTP_'):
            dict.__setitem__(headers, name[5:].lower().replace('_', '-'), value)
    if p.get('CONTENT_TYPE'):
        dict.__setitem__(headers, 'content-type', p['CONTENT_TYPE'])
    cl = p.get('CONTENT_LENGTH')
    if cl:
        dict.__setitem__(headers, 'content-length', cl)
        if cl.isdigit():
            h.content_length = int(cl)
    headers.modified = True
    h.headers_cache = headers
    return h


cdef bytes cgi_head_bytes(object head):
    # A response head as a CGI header block: Status, the header fields less the framing ones, the empty line.
    cdef ResponseHead r = as_response_head(head)
    lines = ['Status: %d %s\r\n' % (r.status, r.status_text)]
    for name, value in r.headers.items():
        if name in HOP_BY_HOP:
            continue
        for v in (value if isinstance(value, list) else (value,)):
            lines.append('%s: %s\r\n' % (name, v))
    lines.append('\r\n')
    return param_bytes(''.join(lines))


cdef class FastCgiServerRequest(EventTarget):
    """One request of a demux_fastcgi connection; its sub-pipeline's output goes back as STDOUT and END_REQUEST."""

    cdef int start(self) except -1:
        cdef DemuxFastCGI o = self.owner
        cdef list pairs
        try:
            pairs = parse_fastcgi_params(bytes(self.params))
        except ValueError as e:
            return o.fail(str(e))
        self.params = None
        head = fastcgi_request_head(pairs)
        (<FastCgiRequestHead>head).keep_conn = self.keep_conn
        (<FastCgiRequestHead>head).role = FCGI_RESPONDER
        self.sub = o.sub_pipeline(o.target, self)
        try:
            self.sub.on_event(new_start(head))
        except Exception as e:
            report_error(e, o.location)
            return self.finish(1)
        return 0

    cdef int on_event(self, Event evt) except -1:
        # What the request's sub-pipeline outputs: its response.
        cdef DemuxFastCGI o = self.owner
        if self.done:
            return 0
        if isinstance(evt, MessageStart):
            if not self.head_sent:
                self.head_sent = True
                return o.output(Data.wrap(fastcgi_record(FCGI_STDOUT, self.request_id,
                                                         cgi_head_bytes((<MessageStart>evt).head))))
            return 0
        if isinstance(evt, Data):
            if self.head_sent and (<Data>evt).nbytes():
                return o.output(fastcgi_records(FCGI_STDOUT, self.request_id, evt))
            return 0
        if isinstance(evt, MessageEnd):
            if self.head_sent:
                return self.finish(0)
            return 0
        if isinstance(evt, StreamEnd):
            if not self.head_sent:
                # (Ended without an answer: the client gets an error response of the kind an HTTP server gives.)
                status = 502 if (<StreamEnd>evt).error is not None else 500
                self.head_sent = True
                o.output(Data.wrap(fastcgi_record(FCGI_STDOUT, self.request_id,
                                                  cgi_head_bytes(ResponseHead(status)))))
            return self.finish(1 if (<StreamEnd>evt).error is not None else 0)
        return 0

    cdef int finish(self, int app_status) except -1:
        cdef DemuxFastCGI o = self.owner
        cdef Data out
        if self.done:
            return 0
        self.done = True
        if o.requests.get(self.request_id) is self:
            del o.requests[self.request_id]
        out = Data.wrap(fastcgi_record(FCGI_STDOUT, self.request_id, b''))
        out.append_chunk(fastcgi_end_request(self.request_id, app_status, FCGI_REQUEST_COMPLETE))
        o.output(out)
        if self.sub is not None:
            p, self.sub = self.sub, None
            p.shutdown()
        if not self.keep_conn and not o.ended:
            o.ended = True
            o.shutdown()
            return o.output(STREAM_END_OK)
        return 0


cdef class DemuxFastCGI(Filter):
    """demux_fastcgi(max_params_size=65536): each FastCGI request on the stream becomes a message to its own
    sub-pipeline; the message it outputs goes back as the response."""

    def __init__(self, LayoutRef target, Py_ssize_t max_params_size=65536):
        self.target = target
        self.max_params_size = max_params_size

    cdef Filter clone(self):
        cdef DemuxFastCGI f = DemuxFastCGI.__new__(DemuxFastCGI)
        f.target = self.target
        f.max_params_size = self.max_params_size
        f.reader = FastCgiRecordReader()
        f.requests = {}
        return f

    def sub_layouts(self):
        return (self.target,)

    def describe(self):
        return 'demux_fastcgi -> %s' % self.target.name

    cdef int on_event(self, Event evt) except -1:
        cdef Data d
        cdef Py_ssize_t i
        cdef int t
        if self.ended:
            return 0
        if isinstance(evt, Data):
            d = <Data>evt
            for i in range(d.chunk_count()):
                self.reader.feed(d.chunk_at(i))
                while not self.ended:
                    try:
                        t = self.reader.next_record()
                    except ValueError as e:
                        return self.fail(str(e))
                    if t < 0:
                        break
                    self.on_record(t, self.reader.request_id, self.reader.content)
            return 0
        if isinstance(evt, StreamEnd):
            self.ended = True
            self.shutdown()
            return self.output(evt)
        return 0

    cdef int on_record(self, int rtype, int rid, bytes content) except -1:
        cdef FastCgiServerRequest r
        if rid == 0:
            if rtype == FCGI_GET_VALUES:
                # Only what this side can say: requests on one connection may be interleaved.
                asked = [k for k, _ in parse_fastcgi_params(content)]
                answer = {k: '1' for k in asked if k == 'FCGI_MPXS_CONNS'}
                return self.output(Data.wrap(fastcgi_record(FCGI_GET_VALUES_RESULT, 0, fastcgi_params(answer))))
            return self.output(Data.wrap(fastcgi_record(FCGI_UNKNOWN_TYPE, 0, bytes((rtype, 0, 0, 0, 0, 0, 0, 0)))))
        if rtype == FCGI_BEGIN_REQUEST:
            if len(content) < 8:
                return self.fail('a BEGIN_REQUEST of %d bytes (8 it is)' % len(content))
            if rid in self.requests:
                return self.fail('a BEGIN_REQUEST for request %d, which is under way' % rid)
            role = content[0] << 8 | content[1]
            if role != FCGI_RESPONDER:
                return self.output(Data.wrap(fastcgi_end_request(rid, 0, FCGI_UNKNOWN_ROLE)))
            r = FastCgiServerRequest.__new__(FastCgiServerRequest)
            r.owner = self
            r.request_id = rid
            r.keep_conn = content[2] & FCGI_KEEP_CONN
            r.params = bytearray()
            self.requests[rid] = r
            return 0
        x = self.requests.get(rid)
        if x is None:
            return 0                            # (records of a request that is over, or never began: ignored)
        r = <FastCgiServerRequest>x
        if rtype == FCGI_PARAMS:
            if r.params is None:
                return self.fail('PARAMS after the end of request %d\'s params' % rid)
            if content:
                r.params += content
                if len(r.params) > self.max_params_size:
                    return self.fail('the params of request %d are over %d bytes (max_params_size)'
                                     % (rid, self.max_params_size))
                return 0
            return r.start()
        if rtype == FCGI_STDIN:
            if r.params is not None:
                return self.fail('STDIN before the end of request %d\'s params' % rid)
            if r.stdin_done or r.sub is None:
                return 0
            try:
                if content:
                    r.sub.on_event(Data.wrap(content))
                else:
                    r.stdin_done = True
                    r.sub.on_event(new_end())
            except Exception as e:
                report_error(e, self.location)
                return r.finish(1)
            return 0
        if rtype == FCGI_ABORT_REQUEST:
            return r.finish(1)
        return 0

    cdef int fail(self, str why) except -1:
        log_warning('pipyx.fastcgi', 'demux_fastcgi%s: %s; closing the connection' % (where(self.location), why))
        self.ended = True
        self.shutdown()
        return self.output(StreamEnd('ProtocolError'))

    cdef void shutdown(self):
        cdef FastCgiServerRequest r
        reqs, self.requests = self.requests, {}
        if reqs:
            for x in reqs.values():
                r = <FastCgiServerRequest>x
                r.done = True
                if r.sub is not None:
                    p, r.sub = r.sub, None
                    (<Pipeline>p).shutdown()
