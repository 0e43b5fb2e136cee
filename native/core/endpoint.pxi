# Flow control. An endpoint whose transport buffers more than its high-water mark is congested; whichever endpoint's
# read produced the data that got it there pauses its reading until the congested one drains.
# This file owns _congested: others note congestion through an Endpoint, or swap the variable to look at what one
# write caused (swap_congested).
cdef Endpoint _congested = None


cdef inline Endpoint congested_endpoint() noexcept:
    return _congested


cdef inline Endpoint swap_congested(Endpoint e):
    global _congested
    cdef Endpoint was = _congested
    _congested = e
    return was


cdef class Endpoint(Filter):
    """A socket's side of a pipeline: it reads into one and writes what comes out of one."""

    cdef inline void note_congestion(self):
        global _congested
        _congested = self

    cdef inline void read_begins(self):
        dispatch_begins()

    cdef void read_ends(self):
        # The read has been pushed through the pipelines: held bodies go out, and if it congested someone, this
        # endpoint stops reading until that one drains.
        dispatch_ends()
        if _congested is not None:
            self.after_dispatch()

    cdef void after_dispatch(self):
        # Called after a read has been pushed through the pipelines.
        global _congested
        cdef Endpoint c = _congested
        if c is None:
            return
        _congested = None
        if not c.write_paused:
            return
        # (c may be this endpoint itself: a client that sends and does not read what it is answered is not read
        # either until it has read its answers.)
        if c.waiters is None:
            c.waiters = []
        if not self.read_paused:
            self.read_paused = True
            self.pause_input()
        c.waiters.append(self)

    cdef void drained(self):
        cdef Endpoint w
        self.write_paused = False
        if self.waiters:
            waiters, self.waiters = self.waiters, None
            for w in waiters:
                if w.read_paused:
                    w.read_paused = False
                    w.resume_input()

    cdef void pause_input(self):
        # A socket stops reading; an endpoint that is not a socket (a tunnel's stream) does its own kind of pause.
        if self.transport is not None:
            try:
                self.transport.pause_reading()
            except Exception:
                pass

    cdef void resume_input(self):
        if self.transport is not None:
            try:
                self.transport.resume_reading()
            except Exception:
                pass
