# pack: consecutive messages coalesced into one, by count, by size, or when input pauses. Small pieces of the bodies
# are joined as they come, so a batch of many small messages goes out as a few buffers. How small is Pipy's
# `vacancy`: Pipy's Data is made of 4 KiB chunks, and a chunk more than `vacancy` empty is merged with its
# neighbours. pipyx's chunks are the buffers as they came, so a piece is joined when a 4 KiB chunk holding it alone
# would be more than `vacancy` empty: under (1 - vacancy) * 4 KiB. 0 joins everything under 4 KiB, 1 nothing.

cdef Py_ssize_t PACK_CHUNK = 4096


cdef bytearray pack_join(list chunks, bytearray tail, object c, Py_ssize_t below):
    # As join_small, with the threshold of this pack.
    if len(c) >= below:
        chunks.append(c)
        return None
    if tail is None:
        tail = bytearray()
        chunks.append(tail)
    tail += c
    return tail

cdef class PackOptions:
    pass


cdef class PackFilter(Filter):
    """pack(batch_size=1, *, max_size, timeout, interval, prefix, separator, postfix, size_limit, vacancy): every
    batch_size messages go out as one; see pipyx/filters/pack.py."""

    def __init__(self, batch_size=1, max_size=None, timeout=None, interval=None, prefix=None, separator=None,
                 postfix=None, size_limit=DEFAULT_MESSAGE_SIZE_LIMIT, vacancy=0.5):
        cdef PackOptions o = PackOptions.__new__(PackOptions)
        o.batch_size = int(batch_size) if batch_size is not None else 1
        if o.batch_size < 1:
            raise ValueError('pack(): batch_size must be 1 or more, not %r' % (batch_size,))
        o.max_size = int(max_size) if max_size is not None else 0
        o.size_limit = int(size_limit) if size_limit is not None else DEFAULT_MESSAGE_SIZE_LIMIT
        o.timeout = float(timeout) if timeout is not None else 0.0
        o.interval = float(interval) if interval is not None else 0.0
        if o.max_size < 0 or o.size_limit <= 0 or o.timeout < 0 or o.interval < 0:
            raise ValueError('pack(): max_size, timeout and interval must not be negative, size_limit above 0')
        vacancy = 0.5 if vacancy is None else float(vacancy)
        if not 0 <= vacancy <= 1:
            raise ValueError('pack(): vacancy is between 0 and 1, not %r' % (vacancy,))
        o.join_below = int((1 - vacancy) * PACK_CHUNK)
        o.prefix = _as_chunk(prefix) if prefix is not None else None
        o.separator = _as_chunk(separator) if separator is not None else None
        o.postfix = _as_chunk(postfix) if postfix is not None else None
        self.opts = o

    cdef Filter clone(self):
        cdef PackFilter f = PackFilter.__new__(PackFilter)
        f.opts = self.opts
        return f

    def describe(self):
        return 'pack(%d)' % self.opts.batch_size

    cdef int on_event(self, Event evt) except -1:
        cdef PackOptions o = self.opts
        cdef Data d
        cdef Py_ssize_t i
        if self.failed:
            return 0
        if isinstance(evt, Data):
            if self.chunks is not None:
                d = <Data>evt
                if self.size + d.nbytes() > o.size_limit:
                    self.failed = True
                    self.shutdown()
                    log_warning('pipyx.filter', 'pack%s: a batch is over size_limit (%d bytes); ending the stream'
                                % (where(self.location), o.size_limit))
                    return self.output(StreamEnd('BufferOverflow'))
                for i in range(d.chunk_count()):
                    self.add(d.chunk_at(i))
            return 0
        if isinstance(evt, MessageStart):
            if self.starts == 0:
                self.head = (<MessageStart>evt).head
                self.chunks = []
                self.tail_chunk = None
                self.size = 0
                if o.prefix is not None:
                    self.add(o.prefix)
                if o.timeout > 0 or o.interval > 0:
                    self.arm()
                    if self.last_flush == 0:
                        self.last_flush = now()
            elif o.separator is not None:
                self.add(o.separator)
            self.starts += 1
            return 0
        if isinstance(evt, MessageEnd):
            if self.starts == self.ends:
                return 0
            self.ends += 1
            self.whole_size = self.size
            if o.timeout > 0 or o.interval > 0:
                self.last_input = now()
            if self.starts == self.ends and (
                    self.ends >= o.batch_size or (o.max_size and self.size >= o.max_size) or
                    (o.interval > 0 and self.last_input - self.last_flush >= o.interval)):
                return self.flush(<MessageEnd>evt)
            return 0
        if isinstance(evt, StreamEnd):
            if self.ends > 0:
                # Whole messages go; one the end cut short does not.
                self.flush(new_end())
            self.shutdown()
            return self.output(evt)
        return self.output(evt)

    cdef void add(self, object chunk):
        if type(chunk) is FileChunk:
            chunk = bytes(chunk)
        self.tail_chunk = pack_join(self.chunks, self.tail_chunk, chunk, self.opts.join_below)
        self.size += len(chunk)

    cdef int flush(self, MessageEnd end) except -1:
        cdef PackOptions o = self.opts
        cdef Data body
        cdef bint cut = self.starts != self.ends
        chunks, head = self.chunks, self.head
        whole = self.whole_size
        self.chunks = None
        self.tail_chunk = None
        self.head = None
        self.starts = self.ends = 0
        self.size = self.whole_size = 0
        if o.interval > 0:
            self.last_flush = now()
        self.output(new_start(head))
        # (The bytearray pieces become bytes: a packed body is a value that whoever keeps it must not see change.)
        body = Data.of_chunks([bytes(c) if type(c) is bytearray else c for c in chunks])
        if cut:
            body = body.slice(0, whole)
        if o.postfix is not None:
            body.append_chunk(o.postfix)
        if body.nbytes():
            self.output(body)
        return self.output(end if end is not None else new_end())

    cdef void arm(self):
        cdef PackOptions o = self.opts
        cdef double delay
        if self.timer is not None:
            return
        delay = o.timeout if o.timeout > 0 else o.interval
        if o.interval > 0 and o.interval < delay:
            delay = o.interval
        self.timer = _asyncio.get_event_loop().call_later(min(delay, 1.0), self._tick)

    def _tick(self):
        # A batch that is whole (no message half in) goes out when input has paused for `timeout`, or when
        # `interval` has passed since the last batch went.
        cdef PackOptions o = self.opts
        cdef double t = now()
        self.timer = None
        if self.failed or self.chunks is None:
            return
        if self.ends > 0 and self.starts == self.ends and (
                (o.timeout > 0 and t - self.last_input >= o.timeout) or
                (o.interval > 0 and t - self.last_flush >= o.interval)):
            dispatch_begins()
            try:
                self.flush(None)
            except Exception as e:
                self.failed = True
                self.fail_stream(e)
            finally:
                dispatch_ends()
            return
        self.arm()

    cdef void shutdown(self):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
