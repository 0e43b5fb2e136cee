# Declared here, defined in wbuf.pxi.

cdef int wb_reserve(Py_ssize_t n) except -1
cdef int wb_add(const char* p, Py_ssize_t n) except -1
cdef void wb_reset() noexcept
cdef int wb_obj(object b) except -1
cdef int wb_int(int64_t n) except -1
cdef int wb_hex(int64_t n) except -1
cdef int wb_chunk(object chunk) except -1
cdef bytes wb_take()
