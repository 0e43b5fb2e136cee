# The compress family: compress, decompress, compress_http, decompress_http. Bodies stream through a content coder
# (codecs/content_coding.pxi) as they come: nothing waits for a whole body. What a compressor took during one read
# goes out by the end of that read (a sync flush, skipped when the body ended in the read), so a streamed response
# is not held back. A decompressor that fails (corrupt bytes, more output than max_size) ends its stream only, with
# a log line.

cdef class CodingFilter(Filter):
    """Base of the compress family."""

    cdef int code(self, Data d) except -1:
        cdef list out = []
        try:
            code_chunks(self.coder, d, out)
        except ContentCodingError as e:
            return self.coding_failed(e)
        if not self.held and type(self.coder) is ContentEncoder:
            self.held = True
            hold(self)
        return self.emit(out)

    cdef int code_end(self) except -1:
        cdef list out
        self.decided = False
        if self.coder is None:
            return 0
        coder, self.coder = self.coder, None
        self.held = False              # a flush still due finds nothing to do
        out = []
        try:
            if type(coder) is ContentEncoder:
                (<ContentEncoder>coder).finish(out)
            else:
                (<ContentDecoder>coder).finish(out)
        except ContentCodingError as e:
            return self.coding_failed(e)
        return self.emit(out)

    cdef int emit(self, list out) except -1:
        if not out:
            return 0
        return self.output(Data.wrap(out[0]) if len(out) == 1 else Data.of_chunks(out))

    cdef int flush_held(self) except -1:
        cdef list out
        self.held = False
        if type(self.coder) is ContentEncoder and not self.failed:
            out = []
            (<ContentEncoder>self.coder).flush(out)
            return self.emit(out)
        return 0

    cdef int coding_failed(self, object exc) except -1:
        # Bad input from a peer, not a script error: one warning line, and this stream ends.
        self.failed = True
        self.coder = None
        where = '%s:%s: ' % self.location if self.location else ''
        log_warning('pipyx.compress', '%s%s: %s; the stream ends (%s)' % (where, self.describe(), exc, exc.reason))
        return self.output(StreamEnd(exc.reason))

    cdef void shutdown(self):
        self.coder = None


cdef class CompressFilter(CodingFilter):
    """compress(method, level) / decompress(method, max_size): each message body is coded on its own; Data outside
    messages is coded as one stream that ends with the stream."""

    def __init__(self, bint decoding, coding, method, tuple levels, int64_t max_size):
        self.decoding = decoding
        self.coding = coding
        self.method = method
        self.levels = levels
        self.max_size = max_size

    cdef Filter clone(self):
        cdef CompressFilter f = CompressFilter.__new__(CompressFilter)
        f.decoding = self.decoding
        f.coding = self.coding
        f.method = self.method
        f.levels = self.levels
        f.max_size = self.max_size
        return f

    cdef int begin(self) except -1:
        cdef int coding = self.coding
        self.decided = True
        if self.method is not None:
            m = self.call0(self.method)
            if m is None or m == '' or m == 'identity':
                return 0
            coding = coding_of(m)
            if coding == CODING_NONE:
                raise ValueError('%s: unknown method %r (gzip, deflate, br)' % (self.describe(), m))
        if self.decoding:
            self.coder = new_decoder(coding, self.max_size)
        else:
            self.coder = new_encoder(coding, self.levels[coding])
        return 0

    cdef int on_event(self, Event evt) except -1:
        if self.failed:
            return 0
        if isinstance(evt, Data):
            if not self.decided and not self.start_coder():
                return 0
            if self.coder is not None:
                return self.code(<Data>evt)
        elif isinstance(evt, MessageStart):
            if not self.in_message:
                self.code_end()             # Data before the message was a stream of its own
                if self.failed:
                    return 0
                self.in_message = True
                self.output(evt)
                self.start_coder()
                return 0
        elif isinstance(evt, MessageEnd):
            if self.in_message:
                self.in_message = False
                self.code_end()
                if self.failed:
                    return 0
        elif isinstance(evt, StreamEnd):
            self.in_message = False
            if (<StreamEnd>evt).error is None:
                self.code_end()
                if self.failed:
                    return 0
            else:
                self.coder = None
                self.decided = False
        return self.output(evt)

    cdef bint start_coder(self) except -1:
        # False when the method could not be had (the script's callback failed): the stream has ended.
        try:
            self.begin()
        except Exception as e:
            self.failed = True
            self.coder = None
            self.fail_stream(e)
            return False
        return True

    def describe(self):
        return 'decompress' if self.decoding else 'compress'


cdef RequestHead request_of(Filter f):
    # The request a response in this pipeline answers: its pipeline's output, or the output of the pipeline that
    # linked to it, is the response's slot in a demux_http or serve_http connection.
    cdef object t = f.pipeline.output if f.pipeline is not None else None
    cdef int hops
    for hops in range(8):
        if isinstance(t, ResponseEncoder):
            return (<ResponseEncoder>t).req
        if isinstance(t, Filter) and (<Filter>t).pipeline is not None:
            t = (<Filter>t).pipeline.output
        elif isinstance(t, Pipeline):
            t = (<Pipeline>t).output
        else:
            return None
    return None


cdef inline void weaken_etag(object headers):
    # The bytes change, so the tag may no longer promise byte-for-byte equality (as nginx does).
    etag = headers.get('etag')
    if etag and not etag.startswith('W/'):
        headers['etag'] = 'W/' + etag


cdef class CompressHttpOptions:
    """What every clone of one compress_http shares."""

    def __init__(self, offered, tuple levels, types, int64_t min_size, negotiator, accept_encoding):
        self.offered = offered
        self.levels = levels
        self.types = frozenset(types)
        self.type_answers = {}
        self.min_size = min_size
        self.negotiator = negotiator
        self.accept_encoding = accept_encoding

    cdef bint compressible(self, object content_type):
        r = self.type_answers.get(content_type)
        if r is None:
            t = content_type.partition(';')[0].strip().lower()
            r = t in self.types or (t.partition('/')[0] + '/*') in self.types
            if len(self.type_answers) >= 256:
                self.type_answers.clear()
            self.type_answers[content_type] = r
        return r


cdef class CompressHTTP(CodingFilter):
    """compress_http(...): compresses a response body with the best coding its request accepts, and says so in its
    head (Content-Encoding, Vary, a weak ETag, no Content-Length)."""

    def __init__(self, CompressHttpOptions opts):
        self.opts = opts

    cdef Filter clone(self):
        cdef CompressHTTP f = CompressHTTP.__new__(CompressHTTP)
        f.opts = self.opts
        return f

    cdef int on_event(self, Event evt) except -1:
        if self.failed:
            return 0
        if isinstance(evt, Data):
            if self.waiting is not None:
                self.early.append(evt)
                self.early_size += (<Data>evt).nbytes()
                if self.early_size >= self.opts.min_size:
                    return self.release(True)
                if not self.held:
                    self.held = True
                    hold(self)
                return 0
            if self.coder is not None:
                return self.code(<Data>evt)
            return self.output(evt)
        if isinstance(evt, MessageStart):
            if self.in_message:
                return self.output(evt)
            self.in_message = True
            try:
                return self.start_message(<MessageStart>evt)
            except Exception as e:
                self.failed = True
                return self.fail_stream(e)
        if isinstance(evt, MessageEnd):
            if self.waiting is not None:
                self.release(False)      # the whole body is here, and it is smaller than min_size
            self.in_message = False
            self.code_end()
            if self.failed:
                return 0
            return self.output(evt)
        if isinstance(evt, StreamEnd):
            if self.waiting is not None:
                self.release(False)
            self.in_message = False
            self.coder = None
        return self.output(evt)

    cdef int start_message(self, MessageStart evt) except -1:
        cdef CompressHttpOptions o = self.opts
        cdef ResponseHead h
        cdef RequestHead req
        cdef Headers headers
        cdef int coding
        head = evt.head
        if isinstance(head, ResponseHead):
            h = <ResponseHead>head
        elif head is None or isinstance(head, dict):
            h = as_response_head(head)
            evt = new_start(h)
        else:
            return self.output(evt)      # not a response
        if not status_has_body(h.status) or h.status == 206:
            return self.output(evt)
        if o.accept_encoding is None:
            req = request_of(self)
            if req is not None and req.is_head_method():
                return self.output(evt)
            accept = (header_value(<Headers>req.headers, 'accept-encoding') or '') if req is not None else None
        else:
            accept = self.evaluate(o.accept_encoding) or ''
        headers = <Headers>h.headers
        ce = header_value(headers, 'content-encoding')
        if (ce and ce.strip().lower() != 'identity') or header_value(headers, 'content-range') is not None:
            return self.output(evt)
        cc = header_value(headers, 'cache-control')
        if cc and 'no-transform' in cc.lower():
            return self.output(evt)
        ct = header_value(headers, 'content-type')
        if not ct or not o.compressible(ct):
            return self.output(evt)
        # The response could have been compressed: caches must key it by Accept-Encoding either way.
        vary = header_value(headers, 'vary')
        if vary is None:
            headers['vary'] = 'Accept-Encoding'
        elif '*' not in vary and 'accept-encoding' not in vary.lower():
            headers['vary'] = vary + ', Accept-Encoding'
        offered = o.offered
        if callable(offered):
            offered = self.call(offered, evt)
            if offered is None:
                return self.output(evt)
            offered = (offered,) if isinstance(offered, str) else tuple(offered)
        if not offered:
            return self.output(evt)
        # Without a request to ask (no demux_http or serve_http before), the script's first choice, as Pipy does.
        name = offered[0] if accept is None else o.negotiator.choose(accept, offered)
        coding = coding_of(name)
        if coding == CODING_NONE:
            if name != 'identity':
                raise ValueError('compress_http: unknown method %r (gzip, deflate, br)' % (name,))
            return self.output(evt)
        if h.content_length >= 0 and h.raw is not None:
            if h.content_length < o.min_size:
                return self.output(evt)
        elif o.min_size > 0:
            self.waiting = evt
            self.chosen = coding
            self.early = []
            self.early_size = 0
            return 0
        return self.begin(evt, coding)

    cdef int begin(self, MessageStart evt, int coding) except -1:
        cdef ResponseHead h = <ResponseHead>evt.head
        cdef int64_t size = h.content_length if h.raw is not None else -1
        headers = h.headers
        headers['content-encoding'] = CODING_NAMES[coding]
        headers.pop('content-length', None)
        headers.pop('accept-ranges', None)    # ranges of the compressed bytes are not offered
        weaken_etag(headers)
        h.content_length = -1
        self.coder = new_encoder(coding, self.opts.levels[coding], size)
        return self.output(evt)

    cdef int release(self, bint compress) except -1:
        # The held start and body go on, compressed or as they are.
        cdef MessageStart evt = self.waiting
        cdef list early = self.early
        cdef Data d
        self.waiting = None
        self.early = None
        if compress:
            self.begin(evt, self.chosen)
        else:
            self.output(evt)
        if early:
            d = <Data>early[0]
            if len(early) > 1:
                d = Data.__new__(Data)
                for x in early:
                    d.append_data(<Data>x)
            if self.coder is not None:
                return self.code(d)
            return self.output(d)
        return 0

    cdef int flush_held(self) except -1:
        # The read is over and the body goes on streaming: too late to wait for min_size.
        if self.waiting is not None:
            self.held = False
            self.release(True)
        return CodingFilter.flush_held(self)

    def describe(self):
        return 'compress_http'


cdef class DecompressHTTP(CodingFilter):
    """decompress_http(enable, max_size): decompresses a message whose Content-Encoding is gzip, deflate or br, and
    takes the coding out of its head."""

    def __init__(self, enable, int64_t max_size):
        self.enable = enable
        self.max_size = max_size

    cdef Filter clone(self):
        cdef DecompressHTTP f = DecompressHTTP.__new__(DecompressHTTP)
        f.enable = self.enable
        f.max_size = self.max_size
        return f

    cdef int on_event(self, Event evt) except -1:
        if self.failed:
            return 0
        if isinstance(evt, Data):
            if self.coder is not None:
                return self.code(<Data>evt)
        elif isinstance(evt, MessageStart):
            if not self.in_message:
                self.in_message = True
                try:
                    return self.start_message(<MessageStart>evt)
                except Exception as e:
                    self.failed = True
                    return self.fail_stream(e)
        elif isinstance(evt, MessageEnd):
            self.in_message = False
            self.code_end()
            if self.failed:
                return 0
        elif isinstance(evt, StreamEnd):
            self.in_message = False
            self.coder = None
        return self.output(evt)

    cdef int start_message(self, MessageStart evt) except -1:
        cdef int coding
        head = evt.head
        if isinstance(head, HttpHead):
            headers = (<HttpHead>head).headers
            if isinstance(head, ResponseHead) and (<ResponseHead>head).status == 206:
                return self.output(evt)   # a part of the coded bytes cannot be decoded on its own
        elif isinstance(head, dict) and isinstance(head.get('headers'), dict):
            headers = head['headers']
        else:
            return self.output(evt)
        coding = coding_of(headers.get('content-encoding'))
        if coding == CODING_NONE:
            return self.output(evt)
        if self.enable is not None and not self.evaluate(self.enable):
            return self.output(evt)
        for name in [k for k in headers if k.lower() in ('content-encoding', 'content-length')]:
            del headers[name]
        weaken_etag(headers)
        if isinstance(head, HttpHead):
            (<HttpHead>head).content_length = -1
        self.coder = new_decoder(coding, self.max_size)
        return self.output(evt)

    def describe(self):
        return 'decompress_http'
