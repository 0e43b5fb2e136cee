# cython: language_level=3
# The per-event path of pipyx, compiled as one module so that filters call each other through C vtables
# (docs/design.md). The classes and cross-file functions are declared in pipyx._native.pxd; this file puts
# the implementations in order.

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE, PyBytes_FromStringAndSize, PyBytes_Check
from cpython.unicode cimport PyUnicode_Check
from libc.string cimport memchr, memcmp, memcpy
from libc.stdint cimport int64_t
cimport cython

include "core/clock.pxi"
include "core/dispatch.pxi"
include "core/data.pxi"
include "core/events.pxi"
include "core/context.pxi"
include "core/pipeline.pxi"
include "core/endpoint.pxi"
include "core/wbuf.pxi"
include "core/heap.pxi"
include "codecs/http_parse.pxi"
include "codecs/http_head.pxi"
include "codecs/http_encode.pxi"
include "codecs/http_response.pxi"
include "codecs/http_message.pxi"
include "codecs/http_decode.pxi"
include "codecs/tunnel_frame.pxi"
include "io/inbound.pxi"
include "io/sendfile.pxi"
include "io/connect.pxi"
include "filters/handle.pxi"
include "filters/replace.pxi"
include "filters/debug.pxi"
include "filters/link.pxi"
include "filters/branch.pxi"
include "filters/fork.pxi"
include "filters/use.pxi"
include "filters/wait.pxi"
include "filters/http_codec.pxi"
include "filters/http_server.pxi"
include "filters/serve_http.pxi"
include "filters/demux_http.pxi"
include "filters/serve_files.pxi"
include "filters/mux_http.pxi"
include "filters/tunnel.pxi"
include "filters/connect_tunnel.pxi"
include "filters/accept_tunnel.pxi"
include "filters/mqtt_codec.pxi"
include "filters/throttle.pxi"
include "filters/split.pxi"
include "filters/pack.pxi"
include "filters/deframe.pxi"
include "filters/detect_protocol.pxi"
include "filters/stream_source.pxi"
include "filters/read.pxi"
include "filters/tee.pxi"
include "filters/produce.pxi"
include "filters/deposit_message.pxi"
include "filters/exec.pxi"
