# decode_resp / encode_resp: RESP frames as messages, over the sans-I/O reader in codecs/resp. The decoder's message
# is a RespHead and a body of the frame's own bytes; the encoder sends those bytes on untouched unless the script
# changed the head, so a proxy that only reads commands costs no encoding.

cdef class DecodeRESP(Filter):
    """decode_resp(): one message per RESP frame. Input that breaks the protocol ends the stream with ProtocolError
    after the frames before it, logs one line, and leaves what redis-server would answer for encode_resp to send."""

    def __init__(self, RespLimits limits):
        self.limits = limits

    cdef Filter clone(self):
        cdef DecodeRESP f = DecodeRESP.__new__(DecodeRESP)
        f.limits = self.limits
        return f

    def describe(self):
        return 'decode_resp'

    cdef int on_event(self, Event evt) except -1:
        cdef list out
        cdef str error = None
        cdef RespHead h
        cdef Py_ssize_t i
        if self.failed:
            return 0
        if isinstance(evt, Data):
            if self.parser is None:
                self.parser = RespParser.__new__(RespParser)
                self.parser.limits = self.limits
            out = []
            for i in range((<Data>evt).chunk_count()):
                try:
                    self.parser.feed_chunk((<Data>evt).chunk_at(i), out)
                except RespProtocolError as e:
                    error = str(e)
                    break
            for x in out:
                h = <RespHead>x
                self.output(new_start(h))
                self.output(Data.wrap(h._raw))
                self.output(new_end())
            if error is not None:
                return self.broken(error)
            return 0
        if isinstance(evt, StreamEnd):
            if self.parser is not None:
                pending = self.parser.pending()
                self.parser = None
                if pending and (<StreamEnd>evt).error is None:
                    return self.broken('Protocol error: a frame cut short by the end of the stream')
            return self.output(evt)
        return self.output(evt)

    cdef int broken(self, str message) except -1:
        self.failed = True
        self.parser = None
        codec_log('decode_resp%s: %s; closing the stream' % (where(self.location), message))
        if self.pipeline is not None and self.pipeline.context is not None:
            self.pipeline.context.protocol()['resp_error'] = message
        return self.output(StreamEnd('ProtocolError'))


cdef class EncodeRESP(Filter):
    """encode_resp(): each message as RESP bytes. A RespHead nobody changed, or no head at all, sends the message's
    body as it is; a changed RespHead is written from its command and args or its value; any other head is a value
    (RespError('ERR ...'), b'bulk', 42, [...]). A stream ended by decode_resp's ProtocolError gets redis-server's
    error reply first."""

    cdef Filter clone(self):
        return EncodeRESP.__new__(EncodeRESP)

    def describe(self):
        return 'encode_resp'

    cdef int on_event(self, Event evt) except -1:
        if self.failed:
            return 0
        if isinstance(evt, Data):
            if not self.in_message or self.passing:
                return self.output(evt)
            return 0                            # (the head says it all)
        if isinstance(evt, MessageStart):
            if self.in_message:
                return 0
            h = (<MessageStart>evt).head
            self.in_message = True
            self.passing = h is None or (type(h) is RespHead and not (<RespHead>h)._changed)
            self.head = None if self.passing else h
            return 0
        if isinstance(evt, MessageEnd):
            if not self.in_message:
                return 0
            self.in_message = False
            if self.passing:
                return 0
            return self.encode_message()
        if isinstance(evt, StreamEnd):
            self.in_message = False
            self.head = None
            if (<StreamEnd>evt).error == 'ProtocolError' and self.pipeline is not None \
                    and self.pipeline.context is not None:
                message = self.pipeline.context.protocol().pop('resp_error', None)
                if message is not None:
                    self.output(Data.wrap(b'-ERR ' + resp_line(message).encode() + b'\r\n'))
            return self.output(evt)
        return 0

    cdef int encode_message(self) except -1:
        cdef bytearray out = bytearray()
        h, self.head = self.head, None
        try:
            resp_encode_value(h, out, 0)
        except Exception as e:
            # A head the script built that is no RESP value: its error, reported with its line.
            self.failed = True
            return self.fail_stream(e)
        return self.output(Data.wrap(bytes(out)))
