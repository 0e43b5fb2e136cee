# Declared here, defined in deposit_message.pxi.

# What deposit_message()'s instances share.
cdef class DepositOptions:
    cdef object path                     # a path, a callable returning one, or None for a temporary file
    cdef Py_ssize_t threshold
    cdef Py_ssize_t max_size
    cdef bint keep
    cdef object directory


# Congested while a spool is read back and events wait behind it.
cdef class DepositGate(Endpoint):
    pass


# deposit_message(...): a message's body past a threshold spooled to a file, passed on once the message is whole.
cdef class DepositMessageFilter(Filter):
    cdef DepositOptions opts
    cdef Py_ssize_t passed               # body bytes passed on at once (up to the threshold)
    cdef Py_ssize_t spooled
    cdef object file                     # the spool, open for writing, then for reading back
    cdef str file_path
    cdef bint in_message
    cdef MessageEnd end
    cdef StreamSource source
    cdef list queue                      # events that came while a spool was read back
    cdef DepositGate gate
    cdef bint failed

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef int process(self, Event evt) except -1
    cdef int spool(self, Data d) except -1
    cdef int replay(self) except -1
    cdef void drop_file(self)
    cdef void shutdown(self)
