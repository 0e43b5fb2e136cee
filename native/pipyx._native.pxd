# The declarations of pipyx._native: the layout of every native class and the functions one file offers
# another, one .pxd per concern beside its .pxi. (Cython finds this file by the module's dotted name.)

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE, PyBytes_FromStringAndSize, PyBytes_Check
from cpython.unicode cimport (PyUnicode_Check, PyUnicode_DecodeLatin1, PyUnicode_KIND, PyUnicode_1BYTE_KIND,
                              PyUnicode_DATA, PyUnicode_GET_LENGTH)
from cpython.dict cimport PyDict_GetItem, PyDict_SetItem
from cpython.ref cimport PyObject
from libc.string cimport memchr, memcmp, memcpy
from libc.stdint cimport int64_t, uint64_t
from cpython.bytearray cimport PyByteArray_AS_STRING
cimport cython

# Every class, declared ahead so that any declaration may name any class.
cdef class Event
cdef class FileHandle
cdef class FileChunk
cdef class Data
cdef class MessageStart
cdef class MessageEnd
cdef class StreamEnd
cdef class Message
cdef class ModuleScope
cdef class Context
cdef class ContextAccess
cdef class EventTarget
cdef class EventCollector
cdef class Filter
cdef class LayoutRef
cdef class PipelineLayout
cdef class Pipeline
cdef class EventBuffer
cdef class Endpoint
cdef class HttpLimits
cdef class Headers
cdef class HttpHead
cdef class RequestHead
cdef class ResponseHead
cdef class HttpSink
cdef class HttpDecodeLog
cdef class HttpDecoder
cdef class TunnelFrameSink
cdef class TunnelFrameLog
cdef class TunnelFrameReader
cdef class TunnelFrameWriter
cdef class ListenerState
cdef class Inbound
cdef class FileSender
cdef class ConnectOptions
cdef class Connect
cdef class TunnelIdleTimer
cdef class AcceptHttpTunnel
cdef class HttpTunnelReturn
cdef class ConnectHttpTunnel
cdef class WebSocketHead
cdef class WebSocketSink
cdef class WebSocketLog
cdef class WebSocketReader
cdef class WsFilterSink
cdef class DecodeWebSocket
cdef class EncodeWebSocket
cdef class SpliceRelay
cdef class CallbackFilter
cdef class HandleFilter
cdef class ReplaceFilter
cdef class DumpFilter
cdef class PrintFilter
cdef class LinkFilter
cdef class LinkAsyncFilter
cdef class BranchFilter
cdef class ForkFilter
cdef class UseFilter
cdef class ChainFilter
cdef class WaitFilter
cdef class PipeFilter
cdef class PipeNextFilter
cdef class ForkOutput
cdef class LoopFilter
cdef class LoopOutput
cdef class RepeatFilter
cdef class RepeatOutput
cdef class ReplayFilter
cdef class Hub
cdef class SwapFilter
cdef class OnStartFilter
cdef class OnEndFilter
cdef class InsertFilter
cdef class DummyFilter
cdef class MessageEncoder
cdef class DecodeHTTP
cdef class EncodeHTTP
cdef class ResponseEncoder
cdef class ResponseSlot
cdef class HttpServerBase
cdef class ServeHTTP
cdef class DemuxHTTP
cdef class FileAnswerer
cdef class MuxOptions
cdef class SessionPool
cdef class MuxShared
cdef class HttpClientSession
cdef class MuxHTTP
cdef class TunnelOptions
cdef class TunnelChannel
cdef class PeerFrames
cdef class TunnelPeer
cdef class ConnectTunnelShared
cdef class TunnelSession
cdef class ConnectTunnel
cdef class AcceptTunnel
cdef class PyDecode
cdef class PyEncode
cdef class RateBucket
cdef class ThrottleShared
cdef class ThrottleGate
cdef class ThrottleMessageRate
cdef class InputGate
cdef class DemuxSlot
cdef class Demux
cdef class MuxState
cdef class MuxSessionPool
cdef class MuxSession
cdef class MuxRequest
cdef class Mux
cdef class SplitSeparator
cdef class SplitFilter
cdef class PackOptions
cdef class PackFilter
cdef class DeframeStates
cdef class DeframeFilter
cdef class DetectProtocolFilter
cdef class StreamSource
cdef class ReadFilter
cdef class TeeFilter
cdef class ProduceFilter
cdef class DepositOptions
cdef class DepositGate
cdef class DepositMessageFilter
cdef class ExecOptions
cdef class ExecFilter
cdef class ProxyHeader
cdef class ProxyHeaderParser
cdef class SocksServer
cdef class SocksClient
cdef class UdpListenerState
cdef class UdpPeer
cdef class ConnectUDP
cdef class AcceptProxyProtocol
cdef class ConnectProxyProtocol
cdef class AcceptSocks
cdef class SocksReturn
cdef class ConnectSocks
cdef class ContentEncoder
cdef class ContentDecoder
cdef class CodingFilter
cdef class CompressFilter
cdef class CompressHttpOptions
cdef class CompressHTTP
cdef class DecompressHTTP
cdef class QuotaCounter
cdef class Quota
cdef class ThrottleQuota
cdef class ThrottleConcurrency
cdef class ThrottleDataRate
cdef class ThrottleMessageQuota
cdef class TlsContext
cdef class TlsSession
cdef class TlsFilter
cdef class TlsSubOutput
cdef class AcceptTLS
cdef class ConnectTLS
cdef class TlsHelloParser
cdef class HandleTlsClientHello
cdef class HpackDecoder
cdef class HpackEncoder
cdef class Http2FrameSink
cdef class Http2FrameLog
cdef class Http2FrameReader
cdef class Http2Options
cdef class Http2Stream
cdef class Http2StreamGate
cdef class Http2ServerConn
cdef class MultipartSink
cdef class MultipartLog
cdef class PartHead
cdef class MultipartParser
cdef class MultipartParts
cdef class DecodeMultipart
cdef class FastCgiRecordReader
cdef class FastCgiClientOptions
cdef class FastCgiPool
cdef class MuxFastCgiShared
cdef class FastCgiSession
cdef class MuxFastCGI
cdef class FastCgiRequestHead
cdef class FastCgiServerRequest
cdef class DemuxFastCGI
cdef class RespLimits
cdef class RespHead
cdef class RespParser
cdef class DecodeRESP
cdef class EncodeRESP
cdef class DnsMessage
cdef class DnsQuestion
cdef class DnsRecord
cdef class DnsEdns
cdef class DecodeDNS
cdef class EncodeDNS

include "core/clock.pxd"
include "core/dispatch.pxd"
include "core/data.pxd"
include "core/events.pxd"
include "core/context.pxd"
include "core/pipeline.pxd"
include "core/endpoint.pxd"
include "core/wbuf.pxd"
include "core/heap.pxd"
include "core/event_buffer.pxd"
include "codecs/http_parse.pxd"
include "codecs/http_head.pxd"
include "codecs/http_upgrade.pxd"
include "codecs/http_encode.pxd"
include "codecs/http_response.pxd"
include "codecs/http_message.pxd"
include "codecs/http_decode.pxd"
include "codecs/tunnel_frame.pxd"
include "codecs/proxy_protocol.pxd"
include "codecs/socks.pxd"
include "codecs/content_coding.pxd"
include "codecs/tls_hello.pxd"
include "codecs/websocket.pxd"
include "codecs/hpack.pxd"
include "codecs/http2_frame.pxd"
include "codecs/multipart.pxd"
include "codecs/fastcgi.pxd"
include "codecs/resp.pxd"
include "codecs/dns.pxd"
include "io/inbound.pxd"
include "io/sendfile.pxd"
include "io/connect.pxd"
include "io/relay.pxd"
include "io/udp.pxd"
include "io/tls.pxd"
include "filters/handle.pxd"
include "filters/replace.pxd"
include "filters/debug.pxd"
include "filters/link.pxd"
include "filters/branch.pxd"
include "filters/fork.pxd"
include "filters/use.pxd"
include "filters/wait.pxd"
include "filters/pipe.pxd"
include "filters/loop.pxd"
include "filters/repeat.pxd"
include "filters/replay.pxd"
include "filters/swap.pxd"
include "filters/on_start.pxd"
include "filters/on_end.pxd"
include "filters/insert.pxd"
include "filters/dummy.pxd"
include "filters/http_codec.pxd"
include "filters/http_server.pxd"
include "filters/serve_http.pxd"
include "filters/demux_http.pxd"
include "filters/http2_server.pxd"
include "filters/serve_files.pxd"
include "filters/mux_http.pxd"
include "filters/http_tunnel.pxd"
include "filters/websocket.pxd"
include "filters/tunnel.pxd"
include "filters/connect_tunnel.pxd"
include "filters/accept_tunnel.pxd"
include "filters/mqtt_codec.pxd"
include "filters/resp_codec.pxd"
include "filters/throttle.pxd"
include "filters/demux.pxd"
include "filters/mux.pxd"
include "filters/split.pxd"
include "filters/pack.pxd"
include "filters/deframe.pxd"
include "filters/detect_protocol.pxd"
include "filters/stream_source.pxd"
include "filters/read.pxd"
include "filters/tee.pxd"
include "filters/produce.pxd"
include "filters/deposit_message.pxd"
include "filters/exec.pxd"
include "filters/proxy_protocol.pxd"
include "filters/socks.pxd"
include "filters/compress.pxd"
include "filters/quota.pxd"
include "filters/throttle_quota.pxd"
include "filters/accept_tls.pxd"
include "filters/connect_tls.pxd"
include "filters/handle_tls_client_hello.pxd"
include "filters/decode_multipart.pxd"
include "filters/mux_fastcgi.pxd"
include "filters/demux_fastcgi.pxd"
include "filters/dns_codec.pxd"
