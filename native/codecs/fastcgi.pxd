# Declared here, defined in fastcgi.pxi.

cdef enum:
    FCGI_BEGIN_REQUEST = 1
    FCGI_ABORT_REQUEST = 2
    FCGI_END_REQUEST = 3
    FCGI_PARAMS = 4
    FCGI_STDIN = 5
    FCGI_STDOUT = 6
    FCGI_STDERR = 7
    FCGI_DATA = 8
    FCGI_GET_VALUES = 9
    FCGI_GET_VALUES_RESULT = 10
    FCGI_UNKNOWN_TYPE = 11
    FCGI_KEEP_CONN = 1
    FCGI_RESPONDER = 1
    FCGI_REQUEST_COMPLETE = 0
    FCGI_CANT_MPX_CONN = 1
    FCGI_OVERLOADED = 2
    FCGI_UNKNOWN_ROLE = 3
    FCGI_MAX_CONTENT = 65535


# Splits a stream of FastCGI records, cut anywhere; pulled one record at a time.
cdef class FastCgiRecordReader:
    cdef bytearray buf
    cdef Py_ssize_t pos                  # where the next record starts in buf
    cdef public int record_type          # of the record next_record() returned
    cdef public int request_id
    cdef public bytes content

    cdef int feed(self, object chunk) except -1
    cdef int next_record(self) except -2
    cdef bint pending(self)


cdef Data fastcgi_records(int rtype, int request_id, object content)
cdef bytes fastcgi_record(int rtype, int request_id, bytes content)
cdef bytes fastcgi_params(object pairs)
cdef list parse_fastcgi_params(bytes content)
cdef bytes fastcgi_end_request(int request_id, int app_status, int protocol_status)
cdef tuple parse_cgi_head(bytes block)
