# Declared here, defined in handle_tls_client_hello.pxi.

# handle_tls_client_hello(callback): holds the stream's first bytes until its ClientHello is read, calls back with
# it, then passes everything on untouched.
cdef class HandleTlsClientHello(Filter):
    cdef object callback
    cdef Py_ssize_t max_hello_size       # the largest ClientHello read (its handshake bytes)
    cdef TlsHelloParser parser
    cdef Data held
    cdef bint passing                    # the hello was read (or the stream was refused): no more parsing

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
