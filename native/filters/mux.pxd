# Declared here, defined in mux.pxi.

# What every instance of one mux filter shares: its options and its session pools.
cdef class MuxState:
    cdef LayoutRef target
    cdef object session_key
    cdef int key_kind                   # 0: not known yet, 1: constant key_value, 2: key_fn evaluated per stream,
    cdef object key_value               # 3: the stream's inbound connection
    cdef object key_fn
    cdef object output_count            # an int, or a callable given each MessageStart
    cdef double max_idle
    cdef int max_queue
    cdef int max_messages
    cdef Py_ssize_t max_message_size
    cdef dict pools

    cdef MuxSessionPool pool(self, object key)


# The sessions of one session key.
cdef class MuxSessionPool:
    cdef MuxState state
    cdef object key
    cdef list sessions                  # the open sessions, in the order they opened
    cdef object sweeper

    cdef MuxSession pick(self, MuxSession preferred, Context context)
    cdef void remove(self, MuxSession s)
    cdef void watch_idle(self)


# One shared session: an instance of the .to() layout, and the requests awaiting its replies.
cdef class MuxSession(EventTarget):
    cdef MuxSessionPool pool
    cdef Pipeline stream
    cdef MuxRequest first               # the requests awaiting replies, in the order they went in
    cdef MuxRequest last
    cdef int queued                     # how many
    cdef int messages                   # messages it has carried
    cdef double idle_since
    cdef bint in_reply                  # a reply message has started and not ended
    cdef bint closed

    cdef int on_event(self, Event evt) except -1
    cdef int send(self, MessageStart start, Data body, MessageEnd end, MuxRequest r) except -1
    cdef int became_idle(self) except -1
    cdef int lost(self, object error) except -1
    cdef void close(self)


# One message sent into a session, awaiting its replies.
cdef class MuxRequest:
    cdef Mux owner                      # None once its stream is gone: its replies are dropped
    cdef MuxRequest next_in_session
    cdef MuxRequest next_in_stream
    cdef int expected                   # reply messages still to come
    cdef list held                      # replies that came while the stream's earlier requests were unanswered
    cdef bint done
    cdef object error                   # the StreamEnd its stream gets instead of the replies

    cdef int give(self, Event evt) except -1


# mux(session_key=None, output_count=1, max_idle=60, max_queue=1000, max_messages=0, max_message_size=...).
cdef class Mux(Filter):
    cdef MuxState state
    cdef object key
    cdef bint key_known
    cdef MuxSession last_session
    cdef MessageStart start             # the message being received, gathered whole before it goes in
    cdef Data body
    cdef bint body_own                  # body is a Data of this filter's, not the event that brought it
    cdef MuxRequest oldest              # this stream's requests awaiting replies, oldest first
    cdef MuxRequest newest
    cdef StreamEnd eos                  # the input's end, given once the replies are all out
    cdef int awaiting                   # its requests awaiting replies: at max_queue, its further messages wait
    cdef list waiting                   # (start, body, end) of the messages that wait
    cdef InputGate gate
    cdef bint advancing
    cdef bint ended

    cdef Filter clone(self)
    cdef object session_key(self)
    cdef int on_event(self, Event evt) except -1
    cdef int send_message(self, MessageEnd end) except -1
    cdef int dispatch(self, MessageStart start, Data body, MessageEnd end) except -1
    cdef int advance(self) except -1
    cdef int abort(self, object eos) except -1
    cdef void shutdown(self)
