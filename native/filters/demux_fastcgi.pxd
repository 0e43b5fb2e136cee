# Declared here, defined in demux_fastcgi.pxi.

# A request as demux_fastcgi gives it to its sub-pipeline: an HTTP request head, and the params it came with.
cdef class FastCgiRequestHead(RequestHead):
    cdef public dict params
    cdef public int role
    cdef public bint keep_conn


# One request of a FastCGI connection: its params as they come, then its sub-pipeline, whose output goes back as
# STDOUT and END_REQUEST.
cdef class FastCgiServerRequest(EventTarget):
    cdef DemuxFastCGI owner
    cdef int request_id
    cdef bint keep_conn
    cdef bytearray params                # the PARAMS stream until its empty record
    cdef Pipeline sub
    cdef bint stdin_done
    cdef bint head_sent                  # the CGI header block has gone out
    cdef bint done

    cdef int on_event(self, Event evt) except -1
    cdef int start(self) except -1
    cdef int finish(self, int app_status) except -1


# demux_fastcgi(max_params_size=65536): FastCGI requests (from a connection) as messages to a sub-pipeline each.
cdef class DemuxFastCGI(Filter):
    cdef LayoutRef target
    cdef Py_ssize_t max_params_size
    cdef FastCgiRecordReader reader
    cdef dict requests                   # request id -> FastCgiServerRequest
    cdef bint closing                    # a request without FCGI_KEEP_CONN has been answered: the connection ends
    cdef bint ended

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef int on_record(self, int rtype, int rid, bytes content) except -1
    cdef int fail(self, str why) except -1
    cdef void shutdown(self)


cdef FastCgiRequestHead fastcgi_request_head(list params)
cdef bytes cgi_head_bytes(object head)
