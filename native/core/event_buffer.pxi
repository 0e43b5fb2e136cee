# EventBuffer: what branch, link, pipe, swap, fork_join, repeat and replay keep of a stream, with a limit in bytes.

DEFAULT_BUFFER_LIMIT = 1024 * 1024


cdef class EventBuffer:
    """Events kept in order, with the bytes of their Data counted against a limit."""

    cdef bint push(self, Event evt) except -1:
        # False when the event would take the buffer past its limit: it is not kept then.
        cdef Py_ssize_t n = 0
        if isinstance(evt, Data):
            n = (<Data>evt).nbytes()
            if self.nbytes + n > self.limit:
                return False
        self.events.append(evt)
        self.nbytes += n
        return True

    cdef int flush(self, EventTarget out) except -1:
        # Hands every event to out, in order; the buffer is empty afterwards, even if out pushes into it again.
        events = self.events
        self.events = []
        self.nbytes = 0
        for e in events:
            out.on_event(<Event>e)
        return 0

    cdef void clear(self):
        self.events = []
        self.nbytes = 0

    def __len__(self):
        return len(self.events)


cdef EventBuffer new_event_buffer(Py_ssize_t limit):
    cdef EventBuffer b = EventBuffer.__new__(EventBuffer)
    b.events = []
    b.limit = limit
    return b


class BufferLimitError(Exception):
    """What a filter reports when a stream's events are more than it may keep."""


cdef int overflow_stream(Filter f, str what) except -1:
    # The stream has more than f may keep: reported with the script line of f, and that stream alone ends.
    report_error(BufferLimitError('%s: %s' % (f.describe(), what)), f.location)
    return f.output(StreamEnd('BufferOverflow'))
