# Declared here, defined in stream_source.pxi.

# Where the events of read(), produce() and deposit_message()'s spool come from: the event loop, a piece at a time,
# pausing while what it feeds is congested.
cdef class StreamSource(Endpoint):
    cdef Filter owner                    # the filter it outputs through
    cdef object pull                     # pull() -> outputs one piece; returns False when there is no more
    cdef object done                     # called once the pull says there is no more, or fails
    cdef bint running                    # a pump is scheduled or going
    cdef bint stopped

    cdef void start(self)
    cdef void stop(self)
    cdef void pause_input(self)
    cdef void resume_input(self)


cdef StreamSource new_stream_source(Filter owner, object pull, object done)
