# deframe: custom binary protocols as a state machine. Each state is a callback given the next byte (an int), or,
# once the reads it asked for are done, what was read; it answers with the next state's name, optionally after
# events to output and followed by a read request: [events..., next_state, size, into]. The loop over the bytes and
# the reads of N bytes run here in C; Python runs once per byte a state wants to see, and once per read.

cdef enum:
    READ_NONE = 0
    READ_DATA = 1                        # into a Data, which the next state gets
    READ_LIST = 2                        # into a list, as ints
    READ_PASS = 3                        # the bytes go straight out as Data; the next state gets None


cdef class DeframeStates:
    pass


cdef class DeframeFilter(Filter):
    """deframe(states): states maps names to callbacks; the first is where each stream starts. See
    pipyx/filters/deframe.py for what a callback answers."""

    def __init__(self, states):
        cdef DeframeStates s = DeframeStates.__new__(DeframeStates)
        if not isinstance(states, dict) or not states:
            raise TypeError('deframe() takes a dict of state name -> callback, with at least one state')
        s.names = []
        s.values = []
        s.numbers = {}
        for k, v in states.items():
            if not isinstance(k, str):
                raise TypeError('deframe(): state names are str, not %s' % type(k).__name__)
            s.numbers[k] = len(s.names)
            s.names.append(k)
            s.values.append(v)
        self.states = s

    cdef Filter clone(self):
        cdef DeframeFilter f = DeframeFilter.__new__(DeframeFilter)
        f.states = self.states
        return f

    def describe(self):
        return 'deframe(%s)' % ', '.join(self.states.names)

    cdef int on_event(self, Event evt) except -1:
        cdef Data d
        cdef Py_ssize_t i
        if isinstance(evt, Data):
            if self.failed:
                return 0
            d = <Data>evt
            for i in range(d.chunk_count()):
                self.feed(d.chunk_at(i))
                if self.failed:
                    break
            return 0
        if isinstance(evt, StreamEnd):
            if self.failed:
                return 0
            self.state = 0
            self.read_left = 0
            self.read_kind = READ_NONE
            self.read_into = None
            return self.output(evt)
        return 0

    cdef int feed(self, object chunk) except -1:
        cdef bytes b = chunk if PyBytes_Check(chunk) else bytes(chunk)
        cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(b)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(b), i = 0, k
        cdef int kind
        while i < n and not self.failed:
            if self.read_left > 0:
                k = min(self.read_left, n - i)
                piece = b if (i == 0 and k == n) else b[i:i + k]
                kind = self.read_kind
                if kind == READ_DATA:
                    (<Data>self.read_into).append_chunk(piece)
                elif kind == READ_LIST:
                    (<list>self.read_into).extend(piece)
                else:
                    self.output(Data.wrap(piece))
                i += k
                self.read_left -= k
                if self.read_left == 0:
                    into, self.read_into = self.read_into, None
                    self.read_kind = READ_NONE
                    self.step(into)
            else:
                self.step(<int>p[i])
                i += 1
        return 0

    cdef int step(self, object arg) except -1:
        cdef object v = self.states.values[self.state]
        if callable(v):
            try:
                v = self.call(v, arg)
            except Exception as e:
                self.failed = True
                return self.fail_stream(e)
        return self.follow(v)

    cdef int follow(self, object r) except -1:
        # r: a state name, or [events..., state, size, into] (a tuple too).
        cdef Py_ssize_t i = 0, n
        cdef object size = None, into = None
        if isinstance(r, (list, tuple)):
            n = len(r)
            while i < n and isinstance(r[i], (Event, Message)):
                if isinstance(r[i], Message):
                    (<Message>r[i]).emit(self.next)
                else:
                    self.output(<Event>r[i])
                if self.failed:
                    return 0
                i += 1
            if i >= n:
                return self.fail('a deframe state returned events but no next state')
            if n - i > 3:
                return self.fail('a deframe state returned %r after its events; expected a state, a size and '
                                 'what to read into' % (list(r[i:]),))
            if n - i > 1:
                size = r[i + 1]
            if n - i > 2:
                into = r[i + 2]
            r = r[i]
        if not isinstance(r, str):
            return self.fail('a deframe state returned %s; expected the next state\'s name' % type(r).__name__)
        num = self.states.numbers.get(r)
        if num is None:
            return self.fail('a deframe state returned %r, which is no state (states: %s)'
                             % (r, ', '.join(self.states.names)))
        self.state = <int>num
        if size is not None:
            if not isinstance(size, int) or size <= 0:
                return self.fail('a deframe state asked to read %r bytes; a read is 1 byte or more' % (size,))
            if isinstance(into, Data):
                self.read_kind = READ_DATA
            elif isinstance(into, list):
                self.read_kind = READ_LIST
            elif into is None:
                self.read_kind = READ_PASS
            else:
                return self.fail('a deframe state asked to read into %s; expected a Data, a list or None'
                                 % type(into).__name__)
            self.read_into = into
            self.read_left = size
        return 0

    cdef int fail(self, str reason) except -1:
        self.failed = True
        self.read_into = None
        return self.fail_stream(ValueError(reason))
