# Codecs written in Python, wrapped as filters: a decoder turns the stream's bytes into messages, an encoder turns
# messages back into bytes. The codec objects are sans-I/O (bytes in, (head, payload) pairs out) and made per stream
# by a factory given the stream's shared protocol state, so the decoder and encoder of one connection agree on what
# they learned from it (an MQTT protocol level, say).

_codec_log = None


cdef void codec_log(str message):
    global _codec_log
    if _codec_log is None:
        import logging
        _codec_log = logging.getLogger('pipyx.codec')
    _codec_log.warning(message)


cdef str where(object location):
    if location is None:
        return ''
    return ' (%s:%s)' % (location[0], location[1])


cdef class PyDecode(Filter):
    """Feeds each Data to decoder.feed(bytes), which returns [(head, payload or None), ...]; each pair goes out as
    MessageStart(head), Data(payload), MessageEnd. A decoder that raises has met malformed input: the stream ends
    with ProtocolError and the reason is logged."""

    def __init__(self, str name, factory):
        self.name = name
        self.factory = factory

    cdef Filter clone(self):
        cdef PyDecode f = PyDecode.__new__(PyDecode)
        f.name = self.name
        f.factory = self.factory
        return f

    def describe(self):
        return self.name

    cdef int on_event(self, Event evt) except -1:
        if self.failed:
            return 0
        if isinstance(evt, Data):
            if self.decoder is None:
                self.decoder = self.factory(self.pipeline.context.protocol() if self.pipeline is not None else {})
            for i in range((<Data>evt).chunk_count()):
                self.decode((<Data>evt).chunk_at(i))
                if self.failed:
                    break
            return 0
        return self.output(evt)

    cdef int decode(self, object chunk) except -1:
        try:
            items = self.decoder.feed(chunk)
        except Exception as e:
            self.failed = True
            codec_log('%s%s: %s; closing the stream' % (self.name, where(self.location), e))
            return self.output(StreamEnd('ProtocolError'))
        for head, payload in items:
            self.output(new_start(head))
            if payload:
                self.output(Data.wrap(payload) if PyBytes_Check(payload) else Data(payload))
            self.output(new_end())
        return 0


cdef class PyEncode(Filter):
    """Collects each message (MessageStart, Data, MessageEnd) and outputs encoder.encode(head, payload bytes) as
    Data. Data outside a message passes through as it is."""

    def __init__(self, str name, factory, Py_ssize_t max_size=0):
        self.name = name
        self.factory = factory
        self.max_size = max_size

    cdef Filter clone(self):
        cdef PyEncode f = PyEncode.__new__(PyEncode)
        f.name = self.name
        f.factory = self.factory
        f.max_size = self.max_size
        return f

    def describe(self):
        return self.name

    cdef int on_event(self, Event evt) except -1:
        if self.failed:
            return 0
        if isinstance(evt, MessageStart):
            self.head = (<MessageStart>evt).head
            self.body = None
            self.in_message = True
            return 0
        if isinstance(evt, Data):
            if not self.in_message:
                return self.output(evt)
            if self.body is None:
                self.body = Data.__new__(Data)
            self.body.append_data(<Data>evt)
            if self.max_size and self.body.nbytes() > self.max_size:
                self.failed = True
                codec_log('%s%s: a message body of over %d bytes; closing the stream' % (
                    self.name, where(self.location), self.max_size))
                return self.output(StreamEnd('BufferOverflow'))
            return 0
        if isinstance(evt, MessageEnd):
            if not self.in_message:
                return 0
            self.in_message = False
            if self.encoder is None:
                self.encoder = self.factory(self.pipeline.context.protocol() if self.pipeline is not None else {})
            head, self.head = self.head, None
            body, self.body = self.body, None
            try:
                out = self.encoder.encode(head, body.to_bytes() if body is not None else b'')
            except Exception as e:
                # A head the script built that cannot be encoded: a script error, reported with its line.
                self.failed = True
                return self.fail_stream(e)
            return self.output(Data.wrap(out))
        if isinstance(evt, StreamEnd):
            self.in_message = False
            return self.output(evt)
        return 0
