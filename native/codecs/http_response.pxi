# Writing one HTTP/1.x response for a client, sans-I/O: response events in, bytes out through emit(). A body that
# ends in the read that brought it goes out with a Content-Length in one piece with the head; a longer or slower one
# streams (with the length the response declared, chunked, or until the connection closes for an HTTP/1.0 client).
# HEAD, keep-alive and the client's version shape the head. The owner decides where the bytes go and when a held
# body is sent (filters/http_server.pxi: the response order of a connection).

cdef int BUFFER_BODY = 16 * 1024        # a response body up to this size is sent with Content-Length in one piece


cdef bytes error_response(int status, bint keep_alive):
    text = STATUS_TEXT.get(status, 'Error')
    body = ('%d %s\n' % (status, text)).encode('latin-1')
    return ('HTTP/1.1 %d %s\r\ncontent-type: text/plain\r\ncontent-length: %d\r\n%s\r\n' % (
        status, text, len(body), '' if keep_alive else 'connection: close\r\n')).encode('latin-1') + body


cdef dict STREAM_ERROR_STATUS = {
    'ConnectionTimeout': 504, 'ReadTimeout': 504, 'WriteTimeout': 504, 'IdleTimeout': 504,
    'RuntimeError': 500, 'BufferOverflow': 502,
}


cdef class ResponseEncoder(EventTarget):
    """The encoder of one response to one request. emit(), body_waiting(), response_done() and response_cut() are
    for the owner to say what happens to its output."""

    def __init__(self, RequestHead request):
        """An encoder driven from Python (tests, tools): input() the response's events for `request` (a RequestHead
        an HttpDecoder made), send_held() where a read would end, take_bytes() what they encoded to."""
        self.req = request
        self.head_request = request.is_head_method()
        self.keep_alive = request.keep_alive
        self.emitted = []

    def take_bytes(self):
        out, self.emitted = b''.join([bytes(b) for b in self.emitted]), []
        return out

    cdef int emit(self, object b) except -1:
        if self.emitted is not None:
            self.emitted.append(b)
        return 0

    cdef int body_waiting(self) except -1:
        # A body is held in the hope that the whole response comes in this read: send_held() sends it if not.
        return 0

    cdef int response_done(self) except -1:
        # The whole response is encoded (or answered with an error status before it began).
        return 0

    cdef int response_cut(self) except -1:
        # The response ended short after its head had gone: the connection cannot carry another one.
        return 0

    cdef int on_event(self, Event evt) except -1:
        if self.done:
            return 0
        if isinstance(evt, Data):
            return self.on_data(<Data>evt)
        if isinstance(evt, MessageStart):
            if self.resp is None:
                self.resp = as_response_head((<MessageStart>evt).head)
                self.body = None
                self.body_one = None
                self.body_len = 0
            return 0
        if isinstance(evt, MessageEnd):
            if self.resp is not None:
                return self.finish()
            return 0
        if isinstance(evt, StreamEnd):
            return self.on_stream_end((<StreamEnd>evt).error)
        return 0

    cdef int on_data(self, Data d) except -1:
        if self.resp is None or d.nbytes() == 0:
            return 0
        if d.chunk_count() == 1 and type(d.chunk_at(0)) is FileChunk:
            return self.on_file(<FileChunk>d.chunk_at(0))
        if not self.started:
            if self.body_one is None:
                self.body_one = d
            elif self.body is None:
                self.body = [self.body_one, d]
            else:
                self.body.append(d)
            self.body_len += d.nbytes()
            if self.body_len > BUFFER_BODY and not self.head_request:
                self.start_streaming()
            elif not self.flush_soon:
                # Held in the hope the whole response comes in this read (one write, a Content-Length). If it
                # does not, what came so far goes out at the end of this turn of the loop: a streamed response
                # (server-sent events, a slow upstream) is not held back.
                self.flush_soon = True
                self.body_waiting()
            return 0
        if self.head_request:
            return 0
        if self.chunked:
            wb_reset()
            for c in d.chunks():
                wb_chunk(c)
            return self.emit(wb_take())
        if self.declared >= 0:
            if d.nbytes() > self.declared:
                # More body than the response declared: the client must not read it as a next response.
                d = <Data>d.slice(0, self.declared)
                self.keep_alive = False
            self.declared -= d.nbytes()
        for c in d.chunks():
            self.emit(c)
        return 0

    cdef int on_file(self, FileChunk f) except -1:
        # A body that is a span of a file: the head goes out with its length, and the span itself goes to the
        # connection, which sends it from the file (see Inbound). Behind bytes already held or streamed, the span is
        # read like any body.
        if self.started or self.body_one is not None:
            return self.on_data(Data.wrap(bytes(f)))
        self.started = True
        self.chunked = False
        self.declared = 0
        wb_reset()
        write_response_head(self.resp, f.length, False, self.head_request, self.req.version, self.keep_alive)
        self.emit(wb_take())
        if not self.head_request and status_has_body(self.resp.status):
            self.emit(f)
        return 0

    cdef list held_body(self):
        if self.body is not None:
            return self.body
        return [self.body_one] if self.body_one is not None else []

    cdef int start_streaming(self) except -1:
        # The body is too big to hold: write the head now, with the length the response declared if it has one.
        cdef int64_t declared = self.resp.content_length
        self.started = True
        wb_reset()
        if declared >= 0 and not self.resp.chunked:
            self.chunked = False
            write_response_head(self.resp, declared, False, False, self.req.version, self.keep_alive)
            self.declared = declared
            self.emit(wb_take())
            held = self.held_body()
            self.body = None
            self.body_one = None
            for d in held:
                self.on_data(<Data>d)       # checked against the declared length like the rest
        elif self.req.version == 10:
            # HTTP/1.0 has no chunked encoding: the body runs until the connection closes.
            self.chunked = False
            self.keep_alive = False
            self.declared = -1
            write_response_head(self.resp, -1, False, False, self.req.version, False)
            self.emit(wb_take())
            for d in self.held_body():
                for c in (<Data>d).chunks():
                    self.emit(c)
        else:
            self.chunked = True
            write_response_head(self.resp, -1, True, False, self.req.version, self.keep_alive)
            for d in self.held_body():
                for c in (<Data>d).chunks():
                    wb_chunk(c)
            self.emit(wb_take())
        self.body = None
        self.body_one = None
        return 0

    cdef int finish(self) except -1:
        cdef Data d
        if not self.started:
            wb_reset()
            write_response_head(self.resp, self.body_len, False, self.head_request, self.req.version,
                                self.keep_alive)
            if self.body_one is not None and not self.head_request and status_has_body(self.resp.status):
                for x in self.held_body():
                    d = <Data>x
                    for i in range(d.chunk_count()):
                        wb_obj(d.chunk_at(i))
            self.body = None
            self.body_one = None
            self.started = True
            self.emit(wb_take())
        elif self.chunked:
            self.emit(LAST_CHUNK)
        elif self.declared > 0 and not self.head_request:
            # The body did not match the length the response declared: the client cannot be told; hang up.
            self.keep_alive = False
        self.done = True
        return self.response_done()

    cdef int on_stream_end(self, object error) except -1:
        cdef int status
        if self.done:
            return 0
        if not self.started:
            # No response at all, or one not yet written: answer with an error status instead.
            status = STREAM_ERROR_STATUS.get(error, 502) if error is not None else 502
            self.resp = None
            self.body = None
            self.body_one = None
            self.started = True
            self.done = True
            self.emit(error_response(status, self.keep_alive))
            return self.response_done()
        self.keep_alive = False
        self.done = True
        return self.response_cut()

    cpdef bint send_held(self) except -1:
        self.flush_soon = False
        if self.started or self.done or self.resp is None or self.head_request:
            return False
        self.start_streaming()
        return True

    cdef int flush_held(self) except -1:
        self.send_held()
        return 0
