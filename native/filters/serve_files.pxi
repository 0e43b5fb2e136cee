# The native fast path of serve_files: a GET or HEAD for a file in a Directory's memory cache is answered from the
# cache entry's ready-made head and body without calling Python (the rules are in docs/files.md, "How an entry is
# looked up"). Anything the fast path does not handle — a stale entry, a range, a conditional other than a plain
# If-None-Match, an unseen Accept-Encoding — goes to Directory.serve as before.

from libc.string cimport strncasecmp
from cpython.unicode cimport PyUnicode_DecodeLatin1

cdef extern from "<time.h>" nogil:
    ctypedef long time_t
    time_t time(time_t* t)

cdef time_t _date_second = 0
cdef bytes _date_field = b''


cdef bytes date_field():
    # `date: ...\r\n`, made once a second.
    global _date_second, _date_field
    cdef time_t t = time(NULL)
    if t != _date_second:
        from email.utils import formatdate
        _date_field = ('date: %s\r\n' % formatdate(t, usegmt=True)).encode('ascii')
        _date_second = t
    return _date_field


cdef int classify_field(const char* p, Py_ssize_t n) noexcept:
    if n == 15 and strncasecmp(p, b'accept-encoding', 15) == 0:
        return HF_ACCEPT_ENCODING
    if n == 13 and strncasecmp(p, b'if-none-match', 13) == 0:
        return HF_IF_NONE_MATCH
    if n == 5 and strncasecmp(p, b'range', 5) == 0:
        return HF_PYTHON
    if n >= 8 and (p[0] == b'i' or p[0] == b'I') and (p[1] == b'f' or p[1] == b'F') and p[2] == b'-':
        return HF_PYTHON     # if-range, if-match, if-modified-since, if-unmodified-since
    return HF_OTHER


cdef class FileAnswerer:
    """What the fast path reads of a Directory: its cache's URL table and settings, and the negotiator's answers."""

    def __init__(self, directory):
        cache = directory.cache
        self.cache = cache
        self.urls = cache.urls
        self.entries = cache.entries
        self.answers = directory.negotiator.answers
        self.check_interval = cache.check_interval
        # With a cache marker, a response from the disk says "miss": the Python path writes that one.
        self.file_spans = not getattr(directory, 'cache_header', None)

    cdef bint answer(self, HttpServerBase server, RequestHead h) except -1:
        cdef const char* p
        cdef Py_ssize_t i, end, ps, pe, n
        cdef FieldSpan f
        cdef Py_ssize_t ae_s = -1, ae_e = -1, inm_s = -1, inm_e = -1
        cdef int kind
        cdef bint is_head
        if h.raw is None or h.line_modified or h.content_length > 0 or h.chunked or not h.headers_untouched():
            return False
        p = PyBytes_AS_STRING(h.raw)
        n = h.method_end - h.method_start
        if n == 3 and memcmp(p + h.method_start, b'GET', 3) == 0:
            is_head = False
        elif n == 4 and memcmp(p + h.method_start, b'HEAD', 4) == 0:
            is_head = True
        else:
            return False
        ps = h.path_start
        pe = ps
        while pe < h.path_end and p[pe] != b'?':
            pe += 1
        lp = self.last_path
        if lp is not None and PyBytes_GET_SIZE(lp) == pe - ps and memcmp(PyBytes_AS_STRING(lp), p + ps, pe - ps) == 0:
            entry = self.last_entry
            if not entry.cached:
                self.last_path = None
                return False
            if now() >= self.snap_until:
                if not self.snapshot(entry):
                    return False
        else:
            entry = self.urls.get(PyUnicode_DecodeLatin1(p + ps, pe - ps, NULL))
            if entry is None or not entry.cached:
                return False
            if not self.snapshot(entry):
                return False
            self.last_path = PyBytes_FromStringAndSize(p + ps, pe - ps)
        # One pass over the header block for the fields that matter.
        i = h.hstart
        end = h.hend
        while i < end:
            next_field(p, i, end, &f)
            kind = classify_field(p + i, f.name_end - i)
            if kind != HF_OTHER:
                if kind == HF_PYTHON:
                    return False
                if kind == HF_ACCEPT_ENCODING:
                    if ae_s >= 0:
                        return False        # repeated: Python combines them
                    ae_s, ae_e = f.value_start, f.value_end
                else:
                    if inm_s >= 0:
                        return False
                    inm_s, inm_e = f.value_start, f.value_end
            i = f.next
        if self.snap_plain or ae_s < 0:
            return self.reply(server, h, entry, p, inm_s, inm_e, self.snap_etag, self.snap_head, self.snap_head_304,
                              None if is_head else self.snap_body)
        coding = self.answers.get((PyUnicode_DecodeLatin1(p + ae_s, ae_e - ae_s, NULL), entry.offered))
        if coding is None:
            return False
        variant = entry.variants.get(coding)
        if variant is None or variant.body is None:
            return False                    # a variant sent from a file: Python makes its span
        return self.reply(server, h, entry, p, inm_s, inm_e, (<str>variant.etag).encode('latin-1'), variant.head,
                          variant.head_304, None if is_head else variant.body)

    cdef bint reply(self, HttpServerBase server, RequestHead h, object entry, const char* p, Py_ssize_t inm_s,
                    Py_ssize_t inm_e, bytes etag, bytes head, bytes head_304, object body) except -1:
        # If-None-Match equal to the ETag: 304. Only a plain single strong tag that differs is a sure 200; lists,
        # weak tags and * go to Python.
        if inm_s >= 0:
            if inm_e - inm_s == PyBytes_GET_SIZE(etag) and memcmp(p + inm_s, PyBytes_AS_STRING(etag), inm_e - inm_s) == 0:
                self.send(server, h, head_304, None)
                self.touch(entry)
                return True
            if inm_e - inm_s < 2 or p[inm_s] != b'"' or p[inm_e - 1] != b'"' or \
                    memchr(p + inm_s + 1, b'"', inm_e - inm_s - 2) != NULL:
                return False
        self.send(server, h, head, body)
        self.touch(entry)
        return True

    cdef bint snapshot(self, object entry) except -1:
        # Reads what the fast path needs of a fresh entry; an entry whose check is due goes to Python instead.
        cdef double until = entry.checked_at + self.check_interval
        if now() >= until:
            self.last_path = None
            return False
        variant = entry.variants.get('identity')
        if variant is None or (variant.body is None and not self.file_spans):
            return False
        self.last_entry = entry
        self.snap_until = until
        self.snap_plain = not entry.offered
        self.snap_head = variant.head
        self.snap_head_304 = variant.head_304
        if variant.body is not None:
            self.snap_body = variant.body
        else:
            # The file is opened once per check interval and every response sends from that descriptor: the
            # bytes always match the head, even if the file is replaced meanwhile (until the next check).
            import os
            handle = FileHandle.__new__(FileHandle)
            try:
                (<FileHandle>handle).fd = os.open(variant.path, os.O_RDONLY | getattr(os, 'O_CLOEXEC', 0))
                if os.fstat((<FileHandle>handle).fd).st_size != variant.size:
                    return False            # changed since the entry was made: Python looks again
            except OSError:
                return False
            span = FileChunk.__new__(FileChunk)
            (<FileChunk>span).path = variant.path
            (<FileChunk>span).offset = 0
            (<FileChunk>span).length = variant.size
            (<FileChunk>span).handle = <FileHandle>handle
            self.snap_body = span
        self.snap_etag = (<str>variant.etag).encode('latin-1')
        return True

    cdef int send(self, HttpServerBase server, RequestHead h, bytes head, object body) except -1:
        wb_reset()
        wb_add(PyBytes_AS_STRING(head), PyBytes_GET_SIZE(head))
        wb_obj(date_field())
        if not h.keep_alive:
            server.closing = True
            wb_add(b'connection: close\r\n\r\n', 21)
        elif h.version == 10:
            wb_add(b'connection: keep-alive\r\n\r\n', 26)
        else:
            wb_add(b'\r\n', 2)
        if body is not None and PyBytes_Check(body) and PyBytes_GET_SIZE(body) <= 16384:
            wb_add(PyBytes_AS_STRING(body), PyBytes_GET_SIZE(body))
            server.write(wb_take())
        else:
            server.write(wb_take())
            if body is not None:
                server.write(body)
        return 0

    cdef int touch(self, object entry) except -1:
        # The cache's hit count and LRU order are brought up to date at the end of the loop turn, once per entry.
        if self.touched is None:
            self.touched = []
        if not self.touched:
            soon(self._account)
        if not self.touched or self.touched[len(self.touched) - 1] is not entry:
            self.touched.append(entry)
        self.pending_hits += 1
        return 0

    def _account(self):
        touched, self.touched = self.touched, []
        hits, self.pending_hits = self.pending_hits, 0
        self.cache.hits += hits
        seen = set()
        for entry in touched:
            if id(entry) not in seen:
                seen.add(id(entry))
                try:
                    self.entries.move_to_end(entry.path)
                except KeyError:
                    pass
