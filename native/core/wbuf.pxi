# The encoders' scratch buffer: heads (and small bodies) are assembled here with memcpy and leave as one bytes
# object, so encoding a message costs one allocation. One buffer serves the whole process: encoding never calls
# back into code that could encode in turn.

from libc.stdlib cimport realloc

cdef char* _wb = NULL
cdef Py_ssize_t _wb_len = 0
cdef Py_ssize_t _wb_cap = 0


cdef int wb_reserve(Py_ssize_t n) except -1:
    global _wb, _wb_cap
    cdef Py_ssize_t cap
    cdef char* p
    if _wb_len + n <= _wb_cap:
        return 0
    cap = _wb_cap * 2 if _wb_cap else 4096
    while cap < _wb_len + n:
        cap *= 2
    p = <char*>realloc(_wb, cap)
    if p == NULL:
        raise MemoryError()
    _wb = p
    _wb_cap = cap
    return 0


cdef inline int wb_add(const char* p, Py_ssize_t n) except -1:
    global _wb_len
    if _wb_len + n > _wb_cap:
        wb_reserve(n)
    memcpy(_wb + _wb_len, p, n)
    _wb_len += n
    return 0


cdef inline void wb_reset() noexcept:
    global _wb_len
    _wb_len = 0


cdef int wb_obj(object b) except -1:
    # bytes, str (latin-1, or UTF-8 if it must), or any buffer.
    cdef const unsigned char[::1] view
    if PyBytes_Check(b):
        return wb_add(PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b))
    if isinstance(b, str):
        if PyUnicode_KIND(b) == PyUnicode_1BYTE_KIND:
            # A str of code points below 256 is stored as its latin-1 bytes: no encoded copy to make.
            return wb_add(<const char*>PyUnicode_DATA(b), PyUnicode_GET_LENGTH(b))
        try:
            e = (<str>b).encode('latin-1')
        except UnicodeEncodeError:
            e = (<str>b).encode('utf-8')
        return wb_add(PyBytes_AS_STRING(e), PyBytes_GET_SIZE(e))
    view = memoryview(b).cast('B')
    if view.shape[0]:
        wb_add(<const char*>&view[0], view.shape[0])
    return 0


cdef int wb_int(int64_t n) except -1:
    cdef char tmp[24]
    cdef int i = 24
    if n == 0:
        return wb_add(b'0', 1)
    while n > 0 and i > 0:
        i -= 1
        tmp[i] = <char>(48 + n % 10)
        n //= 10
    return wb_add(tmp + i, 24 - i)


cdef int wb_hex(int64_t n) except -1:
    cdef char tmp[24]
    cdef int i = 24
    if n == 0:
        return wb_add(b'0', 1)
    while n > 0 and i > 0:
        i -= 1
        tmp[i] = b'0123456789abcdef'[n & 15]
        n >>= 4
    return wb_add(tmp + i, 24 - i)


cdef int wb_chunk(object chunk) except -1:
    cdef Py_ssize_t n = len(chunk)
    if n == 0:
        return 0
    wb_hex(n)
    wb_add(b'\r\n', 2)
    wb_obj(chunk)
    return wb_add(b'\r\n', 2)


cdef bytes wb_take():
    cdef bytes b = PyBytes_FromStringAndSize(_wb, _wb_len)
    wb_reset()
    return b
