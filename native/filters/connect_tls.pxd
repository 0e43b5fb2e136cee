# Declared here, defined in connect_tls.pxi.

# connect_tls(...).to(layout): the stream's plain bytes go out encrypted through the sub-pipeline (typically
# connect(upstream)); what comes back is decrypted and output.
cdef class ConnectTLS(TlsFilter):
    cdef object sni                      # a name, a callable giving one per stream, or None: the host connected to

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef int begin(self) except -1
    cdef int start_early(self) except -1
    cdef object target_address(self)
    cdef void expect_reply(self, bint owed)
    cdef int emit_cipher(self, Event evt) except -1
    cdef int emit_plain(self, Event evt) except -1
    cdef str peer_name(self)
