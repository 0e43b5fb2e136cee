# Declared here, defined in mux_fastcgi.pxi.

cdef class FastCgiClientOptions:
    cdef public object root              # DOCUMENT_ROOT; SCRIPT_FILENAME is root + the path's script name
    cdef public object script_filename   # one script for every request (a front controller), or None
    cdef public object index             # the script of a path that ends in '/'
    cdef public object params            # a dict over the defaults, or a callable given the head returning one
    cdef public double max_idle
    cdef public int max_messages
    cdef public Py_ssize_t max_header_size
    cdef public Py_ssize_t buffer_body
    cdef public int max_connections


# The connections for one session key: at most max_connections open, the requests beyond them waiting in turn.
cdef class FastCgiPool:
    cdef list idle                       # the most recently used last
    cdef object key
    cdef MuxFastCgiShared shared
    cdef object sweeper
    cdef int open_count                  # connections open, idle or in use
    cdef object waiters                  # deque of the requests waiting for a connection

    cdef FastCgiSession acquire(self, MuxFastCGI user)
    cdef FastCgiSession open_session(self, MuxFastCGI user)
    cdef void put(self, FastCgiSession s)
    cdef void gone(self, FastCgiSession s)
    cdef void hand_on(self)


# What every instance of one mux_fastcgi filter shares.
cdef class MuxFastCgiShared:
    cdef LayoutRef target
    cdef object session_key
    cdef FastCgiClientOptions opts
    cdef dict pools

    cdef FastCgiPool pool(self, object key)


# One connection to the application server: one request at a time, with request id 1.
cdef class FastCgiSession(EventTarget):
    cdef FastCgiPool pool
    cdef Pipeline stream
    cdef Filter peer
    cdef FastCgiRecordReader reader
    cdef MuxFastCGI user                 # the request being served, or None when idle
    cdef int messages
    cdef double idle_since
    cdef object loop
    cdef bint closed

    cdef int on_event(self, Event evt) except -1
    cdef int on_bytes(self, object b) except -1
    cdef int take(self, object chunk) except -1
    cdef int lost(self, object error) except -1
    cdef void close(self)


# mux_fastcgi(...): each request message goes to a FastCGI application over a pooled connection; the response comes
# back as an HTTP response message.
cdef class MuxFastCGI(Filter):
    cdef MuxFastCgiShared shared
    cdef FastCgiSession session
    cdef object head                     # the request's head
    cdef dict params                     # its params, until they are sent
    cdef FastCgiPool pool
    cdef Data held                       # body that came before its connection did, or of unknown length
    cdef InputGate gate                  # pauses the request's reader while it waits for a connection
    cdef bytearray cgi_head              # STDOUT until the CGI header block has ended
    cdef bint sized                      # the request's length is known: its body streams as STDIN
    cdef bint request_done
    cdef bint response_started
    cdef bint response_done
    cdef bint waiting                    # in its pool's queue for a connection
    cdef bint finished

    cdef Filter clone(self)
    cdef object session_key(self)
    cdef int on_event(self, Event evt) except -1
    cdef int attach(self, FastCgiSession s) except -1
    cdef int send_head(self) except -1
    cdef int send(self, Data d) except -1
    cdef int on_stdout(self, bytes content) except -1
    cdef int on_end_request(self, bytes content) except -1
    cdef int answer_error(self, str error, str why) except -1
    cdef void release(self)
    cdef void abandon(self)
    cdef int session_lost(self, object error) except -1
    cdef void shutdown(self)


cdef dict default_fastcgi_params(object head, Context c, FastCgiClientOptions opts)
