# Declared here, defined in accept_tls.pxi.

# accept_tls(...).to(layout): the stream is TLS from a client; its plain bytes go through the sub-pipeline, whose
# output goes back encrypted.
cdef class AcceptTLS(TlsFilter):
    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef int start_early(self) except -1
    cdef int emit_cipher(self, Event evt) except -1
    cdef int emit_plain(self, Event evt) except -1
    cdef int established_now(self) except -1
    cdef str peer_name(self)
    cdef void drain(self)
    cdef bint busy(self)
    cdef bint input_unread(self)
