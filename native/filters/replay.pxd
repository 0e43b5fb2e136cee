# Declared here, defined in replay.pxi.

# replay(): runs the recorded stream through a new sub-pipeline when the last one ended with StreamEnd('Replay'),
# after a delay, at most max_replays times.
cdef class ReplayFilter(RepeatFilter):
    cdef object delay                    # seconds, or a callable giving them
    cdef int max_replays                 # -1: no limit

    cdef Filter clone(self)
    cdef int on_sub_end(self, StreamEnd evt) except -1
