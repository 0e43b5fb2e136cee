# swap and Hub: streams that meet at a hub exchange their events; a swap filter's input goes to the other parties'
# outputs, and what they send comes out of it.

cdef class Hub:
    """A meeting point for swap(): every event one party sends goes to each of the others."""

    def __init__(self, name=None):
        self.name = name
        self.parties = []
        self.changes = []

    cdef void join(self, EventTarget party):
        if self.broadcasting:
            self.changes.append((True, party))
        elif party not in self.parties:
            self.parties.append(party)

    cdef void leave(self, EventTarget party):
        if self.broadcasting:
            self.changes.append((False, party))
        elif party in self.parties:
            self.parties.remove(party)

    cdef int broadcast(self, Event evt, EventTarget sender) except -1:
        # Each receiver gets its own copy of the event. Joining and leaving while it is handed round wait for the end.
        cdef EventTarget p
        if self.broadcasting:
            return 0
        self.broadcasting = True
        try:
            for p in self.parties:
                if p is not sender:
                    try:
                        p.on_event(copy_event(evt))
                    except Exception as e:
                        report_error(e, None)
        finally:
            self.broadcasting = False
            changes, self.changes = self.changes, []
            for joining, party in changes:
                if joining:
                    self.join(<EventTarget>party)
                else:
                    self.leave(<EventTarget>party)
        return 0

    def __len__(self):
        return len(self.parties)

    def __repr__(self):
        return '<Hub %s: %d parties>' % (self.name, len(self.parties))


cdef class SwapFilter(Filter):
    """swap(hub): joins the stream to a hub (a Hub, a hub's name, or a callable giving either; None means not yet:
    the events wait and it is asked again at the next one). Its events go to the other parties; what they send is
    this filter's output."""

    def __init__(self, hub, hubs=None, buffer_limit=DEFAULT_BUFFER_LIMIT):
        self.hub_value = hub
        self.hubs = hubs if hubs is not None else {}
        self.buffer_limit = buffer_limit

    cdef Filter clone(self):
        cdef SwapFilter f = SwapFilter.__new__(SwapFilter)
        f.hub_value, f.hubs, f.buffer_limit = self.hub_value, self.hubs, self.buffer_limit
        return f

    cdef int on_event(self, Event evt) except -1:
        if self.dead or self.sending:
            return 0
        if self.hub is None:
            try:
                h = self.evaluate(self.hub_value)
                if isinstance(h, str):
                    name = h
                    h = self.hubs.get(name)
                    if h is None:
                        h = self.hubs[name] = Hub(name)
                elif h is not None and not isinstance(h, Hub):
                    raise TypeError('swap: expected a Hub or the name of one, not %s' % type(h).__name__)
            except Exception as e:
                self.dead = True
                self.held = None
                return self.fail_stream(e)
            if h is None:
                if self.held is None:
                    self.held = new_event_buffer(self.buffer_limit)
                if not self.held.push(evt):
                    self.dead = True
                    self.held = None
                    return overflow_stream(self, 'more than buffer_limit (%d bytes) held before a hub was named'
                                           % self.buffer_limit)
                return 0
            self.hub = <Hub>h
            self.party = self.next
            self.hub.join(self.party)
            if self.held is not None:
                held, self.held = self.held, None
                for e in (<EventBuffer>held).events:
                    self.send(<Event>e)
        return self.send(evt)

    cdef int send(self, Event evt) except -1:
        self.sending = True
        try:
            self.hub.broadcast(evt, self.party)
        finally:
            self.sending = False
        return 0

    cdef void shutdown(self):
        self.dead = True
        if self.hub is not None:
            self.hub.leave(self.party)
            self.hub = None

    def describe(self):
        return 'swap'
