# replay: repeat whose reason to run again is the sub-pipeline's own StreamEnd('Replay'): the building block of
# retries. The recording is bounded (buffer_limit), and so are the replays (max_replays).

cdef class ReplayFilter(RepeatFilter):
    """replay(delay=0, max_replays=3, buffer_limit=1 MiB): sends the stream through the sub-pipeline, recording it;
    when the sub-pipeline ends with StreamEnd('Replay'), a new instance gets the recorded stream after delay seconds.
    Past max_replays, the StreamEnd('Replay') goes on, reported as an error."""

    def __init__(self, LayoutRef target, delay=0, max_replays=3, buffer_limit=DEFAULT_BUFFER_LIMIT):
        self.target = target
        self.delay = delay
        self.max_replays = -1 if max_replays is None else max_replays
        self.buffer_limit = buffer_limit

    cdef Filter clone(self):
        cdef ReplayFilter f = ReplayFilter.__new__(ReplayFilter)
        f._copy_from(self)
        f.delay, f.max_replays = self.delay, self.max_replays
        return f

    cdef int on_sub_end(self, StreamEnd evt) except -1:
        if evt.error != 'Replay':
            return self.finish(evt)
        if 0 <= self.max_replays <= self.runs:
            report_error(ReplayLimitReached('replay: still asked to replay after max_replays (%d)'
                                            % self.max_replays), self.location)
            return self.finish(evt)
        if self.recorded is None:
            return self.finish_overflow()
        try:
            delay = float(self.evaluate(self.delay) or 0)
        except Exception as e:
            self.ended = True
            return self.fail_stream(e)
        return self.schedule(delay)

    def describe(self):
        return 'replay'


class ReplayLimitReached(Exception):
    """A replay asked for after the last one max_replays allows."""
