# Declared here, defined in mux_http.pxi.

cdef class MuxOptions:
    cdef public double max_idle
    cdef public int max_messages
    cdef public HttpLimits limits
    cdef public bint retry_idempotent
    cdef public int64_t buffer_chunked_body


# The idle sessions for one session key.
cdef class SessionPool:
    cdef list idle
    cdef Py_ssize_t count                # idle[:count] are the idle sessions
    cdef object key
    cdef MuxShared shared
    cdef object sweeper
    cdef public int active

    cdef HttpClientSession take(self, double now)
    cdef void put(self, HttpClientSession s, double now)
    cdef void remove(self, HttpClientSession s)


# What every instance of one mux_http filter shares.
cdef class MuxShared:
    cdef LayoutRef target
    cdef object session_key
    cdef MuxOptions opts
    cdef dict pools
    cdef int key_kind                   # 0: not known yet, 1: constant key_value, 2: evaluate key_fn per request
    cdef object key_value
    cdef object key_fn

    cdef SessionPool pool(self, object key)


# One upstream session.
cdef class HttpClientSession(HttpDecodingFilter):
    cdef SessionPool pool
    cdef Pipeline stream
    cdef Filter peer                   # the session pipeline's first filter: told when an answer is owed
    cdef HttpDecoder decoder
    cdef MessageEncoder encoder        # requests go out through it, one at a time
    cdef MuxHTTP user                  # the request stream being served, or None when idle
    cdef int messages
    cdef double idle_since
    cdef object loop
    cdef bint closed
    cdef bint got_response             # some of the current response has arrived
    cdef bint reusable
    cdef bint tunnel                   # the upstream agreed to a tunnel: raw bytes both ways, never pooled again

    cdef int on_event(self, Event evt) except -1
    cdef int on_bytes(self, object b) except -1
    cdef int on_session_end(self, object error) except -1
    cdef int on_head(self, HttpHead head) except -1
    cdef int on_body(self, object chunk) except -1
    cdef int on_end(self) except -1
    cdef int on_error(self, int status) except -1
    cdef void close(self)


# mux_http(session_key=None, max_idle=60, max_messages=0): sends each request over a pooled upstream session (the sub-
# pipeline from .to(...)) and outputs the response.
cdef class MuxHTTP(Filter):
    cdef MuxShared shared
    cdef HttpClientSession session
    cdef MessageEncoder encoder
    cdef RequestHead request
    cdef object key
    cdef bint request_done
    cdef bint response_done
    cdef bint retried
    cdef bint finished
    cdef bint tunnel                   # the response opened a tunnel: the stream's bytes go to the session as they are

    cdef Filter clone(self)
    cdef object session_key(self)
    cdef HttpClientSession acquire(self, bint fresh)
    cdef void release(self)
    cdef int on_event(self, Event evt) except -1
    cdef int fail_request(self) except -1
    cdef void abandon(self)
    cdef int session_lost(self, HttpClientSession s, object error) except -1
    cdef bint may_retry(self, HttpClientSession s, object error)
    cdef void shutdown(self)
