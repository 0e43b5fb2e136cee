# Declared here, defined in demux_http.pxi.

# demux_http(): gives every request its own sub-pipeline (from .to(...)), which receives the request message and
# outputs the response message.
cdef class DemuxHTTP(HttpServerBase):
    cdef LayoutRef target

    cdef Filter clone(self)
    cdef int guarded(self, ResponseSlot s, Event evt) except -1
    cdef int request_start(self, ResponseSlot s) except -1
    cdef int request_body(self, ResponseSlot s, object chunk) except -1
    cdef int request_end(self, ResponseSlot s) except -1
