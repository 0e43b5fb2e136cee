# decode_multipart: a multipart/* message (by its head's Content-Type and boundary) is output as one message per part,
# the part's header fields as its head (a PartHead) and its body streamed in the pieces it came in. Any other message
# passes as it is.


# A part inside a part inside a form...: how deep parts are split before one is passed whole.
cdef int MAX_MULTIPART_DEPTH = 4


cdef class MultipartParts(MultipartSink):
    """Gives a parser's parts to decode_multipart's output; a part that is itself multipart (multipart/mixed inside
    a form) is split in turn, up to MAX_MULTIPART_DEPTH deep, and its parts go out in its place."""

    cdef int on_part_head(self, PartHead head) except -1:
        cdef MultipartParts inner
        if self.owner.failed:
            return 0
        if self.depth < MAX_MULTIPART_DEPTH:
            boundary = multipart_boundary(head.content_type)
            if boundary is not None:
                inner = MultipartParts.__new__(MultipartParts)
                inner.owner = self.owner
                inner.depth = self.depth + 1
                self.child = MultipartParser(inner, boundary, self.owner.max_header_size)
                return 0
        return self.owner.output(new_start(head))

    cdef int on_part_body(self, bytes chunk) except -1:
        if self.owner.failed:
            return 0
        c = self.child
        if c is not None:
            return (<MultipartParser>c).feed(chunk)
        return self.owner.output(Data.wrap(chunk))

    cdef int on_part_end(self) except -1:
        if self.owner.failed:
            return 0
        if self.child is not None:
            c, self.child = self.child, None
            return (<MultipartParser>c).finish()
        return self.owner.output(new_end())

    cdef int on_error(self, str reason) except -1:
        if self.owner.failed:
            return 0
        return self.owner.fail(reason if self.depth == 0 else 'in a nested multipart part: ' + reason)


cdef object head_content_type(object head):
    if isinstance(head, HttpHead) or isinstance(head, PartHead):
        headers = head.headers
    elif isinstance(head, dict):
        headers = head.get('headers')
    else:
        headers = getattr(head, 'headers', None)
    if not headers:
        return None
    v = headers.get('content-type')
    if v is None and not isinstance(headers, Headers):
        for k, x in headers.items():
            if isinstance(k, str) and k.lower() == 'content-type':
                return x
    return v


cdef class DecodeMultipart(Filter):
    """decode_multipart(max_header_size=16384): outputs each part of a multipart/* message as a message of its own;
    other messages pass."""

    def __init__(self, Py_ssize_t max_header_size=16384):
        self.max_header_size = max_header_size

    cdef Filter clone(self):
        cdef DecodeMultipart f = DecodeMultipart.__new__(DecodeMultipart)
        f.max_header_size = self.max_header_size
        return f

    def describe(self):
        return 'decode_multipart'

    cdef int on_event(self, Event evt) except -1:
        cdef Data d
        cdef Py_ssize_t i
        cdef MultipartParser parser
        if self.failed:
            return 0
        if isinstance(evt, MessageStart):
            if self.parser is None:
                boundary = multipart_boundary(head_content_type((<MessageStart>evt).head))
                if boundary is not None:
                    if self.parts is None:
                        self.parts = MultipartParts.__new__(MultipartParts)
                        self.parts.owner = self
                    self.parts.child = None
                    self.parser = MultipartParser(self.parts, boundary, self.max_header_size)
                    return 0
            return self.output(evt)
        if self.parser is None:
            if isinstance(evt, StreamEnd):
                self.parts = None
            return self.output(evt)
        if isinstance(evt, Data):
            # (Held in a local: a bad body lets go of self.parser while its feed() is still running.)
            parser = self.parser
            d = <Data>evt
            for i in range(d.chunk_count()):
                parser.feed(d.chunk_at(i))
                if self.failed:
                    return 0
            return 0
        if isinstance(evt, MessageEnd):
            p, self.parser = self.parser, None
            (<MultipartParser>p).finish()
            return 0
        if isinstance(evt, StreamEnd):
            # (A stream cut short inside a multipart message: its end says so; no part is ended for it.)
            self.parser = None
            self.parts = None
            return self.output(evt)
        return 0

    cdef int fail(self, str reason) except -1:
        self.failed = True
        self.parser = None
        log_warning('pipyx.multipart', 'decode_multipart%s: %s; ending the stream' % (where(self.location), reason))
        return self.output(StreamEnd('ProtocolError'))

    cdef void shutdown(self):
        self.parser = None
        self.parts = None
