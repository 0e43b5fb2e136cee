# Declared here, defined in serve_files.pxi.

cdef bytes date_field()

# Request fields the fast path looks at.
cdef enum:
    HF_OTHER = 0
    HF_ACCEPT_ENCODING = 1
    HF_IF_NONE_MATCH = 2
    HF_PYTHON = 3            # a field only the Python path answers (ranges, other conditionals)


cdef int classify_field(const char* p, Py_ssize_t n) noexcept


# What the fast path reads of a Directory.
cdef class FileAnswerer:
    cdef dict urls
    cdef object cache
    cdef object entries
    cdef dict answers
    cdef double check_interval
    cdef bytes last_path                 # the last path looked up, and its entry: a run of requests for one file
    cdef object last_entry               # skips the decoding and the lookup
    cdef list touched                    # entries answered this loop turn: their hits and LRU order, at its end
    cdef Py_ssize_t pending_hits
    # What the last entry answers to a request that takes its identity bytes, read once from the entry (until its
    # check is due): the variant's head, 304 head, body and ETag.
    cdef double snap_until
    cdef bint snap_plain                 # the entry offers no other coding than identity
    cdef bytes snap_head
    cdef bytes snap_head_304
    cdef object snap_body                # bytes, or a FileChunk of a file too big for memory
    cdef bint file_spans                 # entries without a body are answered too (their bytes sent from the file)
    cdef bytes snap_etag

    cdef bint answer(self, HttpServerBase server, RequestHead h) except -1
    cdef bint reply(self, HttpServerBase server, RequestHead h, object entry, const char* p, Py_ssize_t inm_s, Py_ssize_t inm_e, bytes etag, bytes head, bytes head_304, object body) except -1
    cdef bint snapshot(self, object entry) except -1
    cdef int send(self, HttpServerBase server, RequestHead h, bytes head, object body) except -1
    cdef int touch(self, object entry) except -1
