# Declared here, defined in fork.pxi.

# What a fork filter does with the stream and with its forks' output.
cdef enum ForkMode:
    FORK_COPY = 0                      # fork: the stream goes on at once; the forks' output is dropped
    FORK_JOIN = 1                      # fork_join: the stream goes on once every fork has ended
    FORK_RACE = 2                      # fork_race: the output of the first fork to answer is the stream's output


# fork(count=1) and its kin: copies the stream into sub-pipelines, count of them (an int), or one per item of a list
# (the item is the fork's start argument), or what a callable gives.
cdef class ForkFilter(Filter):
    cdef LayoutRef target
    cdef object count
    cdef int mode
    cdef Py_ssize_t buffer_limit
    cdef object timeout                # fork_join: seconds the forks may take, or None
    cdef object timer
    cdef list subs                     # Pipeline per fork; None once a race has ended it
    cdef EventTarget sink
    cdef bint dead
    cdef EventBuffer held              # fork_join: the stream until every fork has ended
    cdef Py_ssize_t ended              # fork_join: forks ended; fork_race: forks that failed
    cdef int winner                    # fork_race: the fork whose output is the stream's, -1 before one answers

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef int start_forks(self) except -1
    cdef int on_fork_output(self, int index, Event evt) except -1
    cdef int fork_failed(self, int index, object exc) except -1
    cdef void shutdown(self)


# Where a fork's output goes in fork_join and fork_race: back to its filter, with the fork's number.
cdef class ForkOutput(EventTarget):
    cdef ForkFilter owner
    cdef int index

    cdef int on_event(self, Event evt) except -1


cdef Event copy_event(Event evt)
cdef object copy_head(object head)
