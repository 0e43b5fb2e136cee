# cython: language_level=3
# The per-event path of pipyx, compiled as one module so that filters call each other through C vtables.
# Each concern lives in its own .pxi file; this file only puts them in dependency order.

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE, PyBytes_FromStringAndSize, PyBytes_Check
from cpython.unicode cimport PyUnicode_Check
from libc.string cimport memchr, memcmp, memcpy
from libc.stdint cimport int64_t
cimport cython

cdef extern from "<time.h>" nogil:
    ctypedef int clockid_t
    cdef struct timespec:
        long tv_sec
        long tv_nsec
    int clock_gettime(clockid_t clk, timespec* tp)
    enum: CLOCK_MONOTONIC_COARSE


cdef inline double now() noexcept:
    # The time for timeouts and idle checks: the kernel's coarse clock (a few ms of resolution) is a memory read.
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts)
    return ts.tv_sec + ts.tv_nsec * 1e-9


include "data.pxi"
include "events.pxi"
include "context.pxi"
include "pipeline.pxi"
include "basic_filters.pxi"
include "flow_filters.pxi"
include "wbuf.pxi"
include "http_head.pxi"
include "http_parse.pxi"
include "http_encode.pxi"
include "http_decoder.pxi"
include "http_codec_filters.pxi"
include "http_server.pxi"
include "static_files.pxi"
include "socket_io.pxi"
include "sendfile.pxi"
include "connect.pxi"
include "http_mux.pxi"
include "tunnel.pxi"
include "py_codec.pxi"
include "throttle.pxi"
