# The events of a stream, and Message: a whole message (head, body, tail) as one value.

cdef class MessageStart(Event):
    """Begins a message; head is the protocol's head object (an HTTP RequestHead or ResponseHead, a dict, ...)."""

    def __init__(self, head=None):
        self.head = head

    def __repr__(self):
        return 'MessageStart(%r)' % (self.head,)


cdef class MessageEnd(Event):
    """Ends a message; tail carries trailers, payload anything a filter wants to pass along with the end."""

    def __init__(self, tail=None, payload=None):
        self.tail = tail
        self.payload = payload

    def __repr__(self):
        return 'MessageEnd(%r)' % (self.tail,)


# The reasons a stream can end with. None means it ended normally.
STREAM_END_ERRORS = (
    'ConnectionRefused', 'ConnectionReset', 'ConnectionTimeout', 'ReadTimeout', 'WriteTimeout', 'IdleTimeout',
    'CannotResolve', 'ReadError', 'WriteError', 'ProtocolError', 'BufferOverflow', 'Unauthorized', 'RuntimeError',
    'UnknownError', 'Replay',
)


cdef class StreamEnd(Event):
    """Ends a stream; error is None for a normal end, else one of STREAM_END_ERRORS."""

    def __init__(self, error=None):
        self.error = error

    def __repr__(self):
        return 'StreamEnd(%r)' % (self.error,) if self.error else 'StreamEnd()'


cdef StreamEnd STREAM_END_OK = StreamEnd()


# Making events without going through __init__: these are on the per-message path.
cdef inline MessageStart new_start(object head):
    cdef MessageStart e = MessageStart.__new__(MessageStart)
    e.head = head
    return e


cdef inline MessageEnd new_end():
    return MessageEnd.__new__(MessageEnd)


@cython.freelist(64)
cdef class Message:
    """A whole message: head (protocol-specific: for HTTP a dict or RequestHead/ResponseHead), body (Data), tail."""

    def __init__(self, head=None, body=None, tail=None):
        if body is None and isinstance(head, (str, bytes, bytearray, Data)):
            head, body = None, head
        self.head = head
        if body is None:
            self.body = Data.__new__(Data)
        elif isinstance(body, Data):
            self.body = <Data>body
        else:
            self.body = Data(body)
        self.tail = tail

    cdef int emit(self, EventTarget out) except -1:
        out.on_event(MessageStart(self.head))
        if self.body.nbytes():
            out.on_event(self.body)
        out.on_event(MessageEnd(self.tail))
        return 0

    def __repr__(self):
        return 'Message(%r, %r)' % (self.head, self.body)
