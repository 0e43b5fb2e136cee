"""The per-event path of pipyx, built from native/ by Cython: events, heads, filters, pipelines and the sockets.

Scripts meet a few of these names through `pipyx` (Data, the events, Message, the HTTP heads, Headers, HttpLimits,
ctx); the rest are what the filter methods of pipyx/filters/ and the worker build on. test/core/test_native_stub.py
checks this file against the built module.
"""
import asyncio
import os
from typing import Any, Awaitable, Callable, ClassVar, Final, Hashable, Iterable, Mapping

# A value a filter takes either as it is, or as a callable evaluated for each stream (or message).
_PerStream = Any

# What a callback may give back in place of events: see replace_* in docs/reference.md.
_Replacement = Any

# -- constants ---------------------------------------------------------------------------------------------------

DEFAULT_MESSAGE_SIZE_LIMIT: Final[int]
"""The most body bytes handle_message/replace_message collect into a Message, by default (16 MiB)."""

DEFAULT_BUFFER_LIMIT: Final[int]
"""The most bytes of a stream the flow filters (link, pipe, swap, fork_join, loop, repeat, replay) keep, by default
(1 MiB)."""

KIND_NAMES: Final[tuple[str, ...]]
"""The event kinds of the handle_* and replace_* filters, by their `kind` index."""

STREAM_END_ERRORS: Final[tuple[str, ...]]
"""The reasons a stream can end with (StreamEnd.error); None is a normal end."""

HOP_BY_HOP: Final[frozenset[str]]
"""Header names an intermediary must not forward as they are: hop-by-hop ones, and the framing it redoes."""

STATUS_TEXT: Final[dict[int, str]]
"""The reason phrase of each HTTP status code pipyx knows."""

ctx: ContextAccess
"""The context variables of the stream whose callback is running."""


def set_error_reporter(fn: Callable[[BaseException, tuple[str, int] | None], object] | None) -> None:
    """Sets what errors in user callbacks are reported to: fn(exception, filter location)."""


def outbound_connections() -> list[Connect]:
    """The connect() endpoints whose socket is connected now."""


def trim_heap() -> int:
    """Returns the C heap's free pages to the system (glibc's malloc_trim): 1 if some were returned, 0 if none, -1
    where the C library cannot. It walks the whole heap: for a process going idle, not for the path of a request."""


# -- data and events ---------------------------------------------------------------------------------------------

class Event:
    """Base of the four events that flow through pipelines."""


class FileHandle:
    """An open file descriptor shared by the responses that send from it; closed when the last one lets it go."""


class FileChunk:
    """A span of a file in place of its bytes, as a chunk of a Data (see Data.file)."""

    @property
    def path(self) -> str: ...
    @property
    def offset(self) -> int: ...
    @property
    def length(self) -> int: ...
    def __len__(self) -> int: ...
    def __bytes__(self) -> bytes:
        """The bytes of the span, read from the file now."""


class Data(Event):
    """A chunk of a stream's bytes: push, shift and slice without copying; to_bytes()/to_str() to read it."""

    def __init__(self, content: bytes | bytearray | memoryview | str | Data | None = None) -> None: ...
    def push(self, content: bytes | bytearray | memoryview | str | Data) -> Data:
        """Append bytes, str (as UTF-8), or another Data's chunks. Returns self."""
    def chunks(self) -> list[bytes | memoryview | FileChunk]:
        """The chunks, in order, as bytes-like objects."""
    def shift(self, n: int) -> Data:
        """Remove the first n bytes and return them as a new Data."""
    def slice(self, start: int, end: int = -1) -> Data:
        """A new Data with bytes [start, end) of this one, sharing its chunks."""
    @staticmethod
    def file(path: str | os.PathLike[str], offset: int = 0, length: int | None = None) -> Data:
        """A Data standing for `length` bytes of the file at `path` from `offset` (to its end when length is None),
        not read: a server sends it straight from the file (sendfile)."""
    def to_bytes(self) -> bytes:
        """All the bytes, joined (no copy when there is one bytes chunk)."""
    def to_str(self, encoding: str = 'utf-8', errors: str = 'strict') -> str:
        """The bytes decoded as text (UTF-8 by default)."""
    @property
    def size(self) -> int: ...
    def __len__(self) -> int: ...
    def __bytes__(self) -> bytes: ...
    def __bool__(self) -> bool: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...


class MessageStart(Event):
    """Begins a message; head is the protocol's head object (an HTTP RequestHead or ResponseHead, a dict, ...)."""

    head: Any
    def __init__(self, head: Any = None) -> None: ...


class MessageEnd(Event):
    """Ends a message; tail carries trailers, payload anything a filter wants to pass along with the end."""

    tail: Any
    payload: Any
    def __init__(self, tail: Any = None, payload: Any = None) -> None: ...


class StreamEnd(Event):
    """Ends a stream; error is None for a normal end, else one of STREAM_END_ERRORS."""

    error: str | None
    def __init__(self, error: str | None = None) -> None: ...


class Message:
    """A whole message: head (protocol-specific: for HTTP a dict or RequestHead/ResponseHead), body (Data), tail.
    Message(body) with a str, bytes or Data alone makes a message with no head."""

    head: Any
    body: Data
    tail: Any
    def __init__(self, head: Any = None, body: bytes | bytearray | memoryview | str | Data | None = None,
                 tail: Any = None) -> None: ...


# -- HTTP heads --------------------------------------------------------------------------------------------------

class Headers(dict[str, Any]):
    """Header fields by lower-case name. Values are str; repeated Set-Cookie fields are a list of str."""

    def __getitem__(self, key: str, /) -> Any: ...
    def __setitem__(self, key: str, value: Any, /) -> None: ...
    def __delitem__(self, key: str, /) -> None: ...
    def __contains__(self, key: object, /) -> bool: ...
    def get(self, key: str, default: Any = None) -> Any: ...
    def pop(self, key: str, *default: Any) -> Any: ...
    def popitem(self) -> tuple[str, Any]: ...
    def setdefault(self, key: str, default: Any = None) -> Any: ...
    def update(self, *args: Any, **kwargs: Any) -> None: ...
    def clear(self) -> None: ...


class HttpHead:
    """What request and response heads share: protocol version, headers, and the framing the scanner found."""

    version: int
    """10 for HTTP/1.0, 11 for HTTP/1.1."""
    content_length: int
    """-1 when the head gave none."""
    chunked: bool
    keep_alive: bool
    """What the sender asked for, with its version's default."""
    connection_upgrade: bool
    expect_continue: bool
    @property
    def headers(self) -> Headers: ...
    @headers.setter
    def headers(self, value: Mapping[str, Any] | Iterable[tuple[str, Any]] | None) -> None: ...
    @property
    def protocol(self) -> str:
        """'HTTP/1.0' or 'HTTP/1.1'."""
    @protocol.setter
    def protocol(self, value: str) -> None: ...
    def copy(self) -> HttpHead:
        """A copy whose changes do not touch this head."""


class RequestHead(HttpHead):
    """An HTTP request head: method, path, protocol, headers (see Headers)."""

    line_modified: bool
    def __init__(self, method: str = 'GET', path: str = '/', headers: Mapping[str, Any] | None = None,
                 protocol: str = 'HTTP/1.1') -> None: ...
    @property
    def method(self) -> str: ...
    @method.setter
    def method(self, value: str) -> None: ...
    @property
    def path(self) -> str: ...
    @path.setter
    def path(self, value: str) -> None: ...
    def __getitem__(self, key: str, /) -> Any:
        """head['method'] is head.method: a head reads like the dict a script may give instead."""


class ResponseHead(HttpHead):
    """An HTTP response head: status, status_text, protocol, headers (see Headers)."""

    status: int
    def __init__(self, status: int = 200, headers: Mapping[str, Any] | None = None, status_text: str | None = None,
                 protocol: str = 'HTTP/1.1') -> None: ...
    @property
    def status_text(self) -> str:
        """The reason phrase: as received, as set, or the standard one for the status."""
    @status_text.setter
    def status_text(self, value: str | None) -> None: ...
    def __getitem__(self, key: str, /) -> Any:
        """head['status'] is head.status: a head reads like the dict a script may give instead."""


class HttpLimits:
    """Limits for decoding HTTP/1.x. Exceeding a head limit answers 431 (414 for the request line), the body 413;
    a request too slow to arrive, 408."""

    max_header_size: int
    max_header_count: int
    max_line_size: int
    max_body_size: int
    """0: no limit."""
    header_timeout: float
    """A server's: seconds from a head's first byte to its end (408 after; 0: none)."""
    body_timeout: float
    """A server's: the longest pause in a request body, in seconds (408 after; 0: none)."""
    http2: Http2Options | None
    """A server's HTTP/2 options (None: the defaults)."""
    def __init__(self, max_header_size: int = 16384, max_header_count: int = 100, max_line_size: int = 8192,
                 max_body_size: int = 67108864, header_timeout: float = 60.0, body_timeout: float = 60.0,
                 http2: Http2Options | None = None) -> None: ...


# -- context -----------------------------------------------------------------------------------------------------

class ModuleScope:
    """The variables one script module declares, exports and imports."""

    filename: str
    defaults: dict[str, Any]
    """Name -> initial value (own variables and exported ones)."""
    imports: dict[str, Any]
    """Name -> the ModuleScope that exports it (the namespace's name until the program is resolved)."""
    def __init__(self, filename: str, defaults: Mapping[str, Any] | None = None) -> None: ...
    def declare(self, names: dict[str, Any]) -> None:
        """Adds context variables and their initial values."""


class Context:
    """The values of context variables for one stream, and what the stream knows of its connection."""

    inbound: InboundInfo | None
    tls: TlsInfo | None
    def __init__(self, inbound: InboundInfo | None = None) -> None: ...


class ContextAccess:
    """`ctx`: the context variables of the stream whose callback is running, read and written as attributes.
    Only names declared with pipy(...) or imported with import_(...) exist; `ctx.inbound` tells the addresses of
    the stream's connection."""

    def __getattr__(self, name: str) -> Any: ...
    def __setattr__(self, name: str, value: Any, /) -> None: ...


class InboundInfo:
    """ctx.inbound: the addresses of the stream's connection; on a transparent listener, also where the client
    meant to connect (destination_*)."""

    remote_address: str | None
    remote_port: int | None
    local_address: str | None
    local_port: int | None
    destination_address: str | None
    destination_port: int | None
    def __init__(self, peer: tuple[Any, ...] | None, local: tuple[Any, ...] | None) -> None: ...


# -- pipelines ---------------------------------------------------------------------------------------------------

class EventTarget:
    """Anything that takes events: a filter, a pipeline, the writer of a connection."""

    def input(self, evt: Event) -> None:
        """Feed an event from Python (tests, plugins)."""


class EventCollector(EventTarget):
    """Keeps every event it is given, or passes each to a Python callable."""

    events: list[Event]
    def __init__(self, fn: Callable[[Event], object] | None = None) -> None: ...


class Filter(EventTarget):
    """Base of every filter. Prototypes live in layouts; clone() makes the instance for one pipeline."""

    location: tuple[str, int] | None
    """(filename, line) of the script line that added this filter."""
    def sub_layouts(self) -> tuple[LayoutRef, ...]:
        """The LayoutRefs of the sub-pipelines this filter starts (to resolve names after loading)."""
    def describe(self) -> str:
        """What the filter is, in words a script author recognizes: 'connect(host:port)', 'demux_http -> name'."""


class LayoutRef:
    """A sub-pipeline named before it is defined; resolved once the script has loaded."""

    name: Any
    """The pipeline's name: a str, or (module file, name) for a pipeline of another module."""
    layout: PipelineLayout | None
    def __init__(self, name: Any) -> None: ...


class PipelineLayout:
    """The template of a pipeline: its filters' prototypes, in order."""

    name: str
    filters: list[Filter]
    scope: ModuleScope
    listen_options: dict[str, Any] | None
    """For layouts made by listen()."""
    location: tuple[str, int] | None
    def __init__(self, name: str, scope: ModuleScope, location: tuple[str, int] | None = None) -> None: ...
    def append(self, f: Filter) -> Filter: ...
    def start(self, output: EventTarget | None = None, context: Context | None = None) -> Pipeline:
        """Make an instance from Python (tests, tools); events it outputs go to output (an EventTarget)."""


class Pipeline(EventTarget):
    """One running instance of a layout."""

    context: Context
    start_args: Any
    def close(self) -> None: ...
    @property
    def name(self) -> str: ...


class EventBuffer:
    """Events kept in order, with the bytes of their Data counted against a limit."""

    def __len__(self) -> int: ...


class BufferLimitError(Exception):
    """What a filter reports when a stream's events are more than it may keep."""


class Endpoint(Filter):
    """A socket's side of a pipeline: it reads into one and writes what comes out of one."""

    def connection_info(self) -> tuple[asyncio.BaseTransport, float] | None:
        """(transport, opened_at) while the socket is connected, else None: what pipyx.inbound()/outbound() list."""


# -- filters: callbacks, flow, debugging -------------------------------------------------------------------------

class CallbackFilter(Filter):
    """A filter that calls user code and may have to wait for what it returns; events meanwhile are held."""


class HandleFilter(CallbackFilter):
    """handle_<kind>(callback): calls callback(event or message) and passes every event on unchanged."""

    def __init__(self, kind: int, fn: Callable[[Any], object], size_limit: int = ...,
                 truncate: bool = False) -> None: ...


class ReplaceFilter(CallbackFilter):
    """replace_<kind>(callback or value): puts what the callback returns in place of the event or message."""

    def __init__(self, kind: int, fn: Callable[[Any], _Replacement] | _Replacement, size_limit: int = ...) -> None: ...


class DumpFilter(Filter):
    """dump(tag=''): prints every event that passes, for debugging; passes them on unchanged."""

    def __init__(self, tag: _PerStream = '') -> None: ...


class PrintFilter(Filter):
    """print(): writes the Data that passes to standard output as text; passes every event on."""


class LinkFilter(Filter):
    """link(name): sends the stream through the named (or inline) pipeline; its output goes on from here. With a
    callable, the stream's first event asks it for the name; None means not yet: the events wait for the next ask."""

    def __init__(self, target: LayoutRef | None, name_fn: Callable[[], object] | None = None,
                 named: Mapping[str, PipelineLayout] | None = None, buffer_limit: int = ...) -> None: ...


class LinkAsyncFilter(Filter):
    """link_async(name): link whose pipeline gets the stream's events on a later turn of the event loop; see
    pipyx/filters/link.py."""

    def __init__(self, target: LayoutRef | None, name_fn: Callable[[], object] | None = None,
                 named: Mapping[str, PipelineLayout] | None = None, buffer_limit: int = ...) -> None: ...


class PipelineNotFound(LookupError):
    """A pipeline named at run time (link, pipe) that the script does not define."""


class BranchFilter(Filter):
    """branch(cond1, pipeline1, cond2, pipeline2, ..., default): on the stream's first event, picks the first
    pipeline whose condition is true (a condition is a callable or a plain value); None as a pipeline passes the
    stream straight on. In the message modes the choice waits for the first MessageStart or the first whole
    message, which a callable condition is given."""

    def __init__(self, conditions: Iterable[_PerStream], targets: Iterable[LayoutRef | None],
                 default: LayoutRef | None, mode: int = 0, size_limit: int = ...) -> None: ...


class PipeFilter(Filter):
    """pipe(target, target_map=None, args=None): the stream goes through the pipeline target names (or the chain a
    list of them makes); a callable target is given the stream's first event and returns a name, a list of names,
    or None to wait for the next event. Its output goes on from here."""

    def __init__(self, target: Any, target_map: dict[str, LayoutRef] | None = None,
                 named: Mapping[str, PipelineLayout] | None = None, args: Any = None,
                 buffer_limit: int = ...) -> None: ...


class PipeNextFilter(ChainFilter):
    """pipe_next(): in a pipeline of the chain pipe() started with a list, goes on to the next pipeline of the list;
    after the last one (or outside a chain), passes the stream on."""


class ForkFilter(Filter):
    """fork(count=1): copies the stream into count (an int, a list, or a callable giving either) sub-pipelines whose
    output is dropped; the stream itself goes on unchanged. With a list, each fork gets its item as its start
    argument (on_start) and a copy of the stream's context variables."""

    def __init__(self, target: LayoutRef, count: _PerStream = 1, mode: int = 0, buffer_limit: int = ...,
                 timeout: float | None = None) -> None: ...


class ForkOutput(EventTarget):
    """Where a fork's output goes in fork_join and fork_race: back to its filter, with the fork's number."""


class LoopFilter(Filter):
    """loop(): the stream goes into a sub-pipeline; everything it outputs goes on from here and is fed back into it."""

    def __init__(self, target: LayoutRef, buffer_limit: int = ...) -> None: ...


class LoopOutput(EventTarget): ...


class RepeatFilter(Filter):
    """repeat(condition): sends the stream through the sub-pipeline; when it ends, condition(StreamEnd) decides
    whether a new instance runs the recorded stream again (true) or the end goes on (false). The condition may
    return an awaitable. Input past buffer_limit bytes is not recorded: asking to run again then ends the stream
    with BufferOverflow."""

    def __init__(self, target: LayoutRef, condition: Callable[[StreamEnd], object],
                 buffer_limit: int = ...) -> None: ...
    def finish_overflow(self) -> int: ...


class RepeatOutput(EventTarget): ...


class ReplayFilter(RepeatFilter):
    """replay(delay=0, max_replays=3, buffer_limit=1 MiB): sends the stream through the sub-pipeline, recording it;
    when the sub-pipeline ends with StreamEnd('Replay'), a new instance gets the recorded stream after delay seconds.
    Past max_replays, the StreamEnd('Replay') goes on, reported as an error."""

    def __init__(self, target: LayoutRef, delay: _PerStream = 0, max_replays: int | None = 3,
                 buffer_limit: int = ...) -> None: ...


class ReplayLimitReached(Exception):
    """A replay asked for after the last one max_replays allows."""


class Hub:
    """A meeting point for swap(): every event one party sends goes to each of the others."""

    name: Any
    def __init__(self, name: object = None) -> None: ...
    def __len__(self) -> int: ...


class SwapFilter(Filter):
    """swap(hub): joins the stream to a hub (a Hub, a hub's name, or a callable giving either; None means not yet:
    the events wait and it is asked again at the next one). Its events go to the other parties; what they send is
    this filter's output."""

    def __init__(self, hub: Any, hubs: dict[str, Hub] | None = None, buffer_limit: int = ...) -> None: ...


class OnEndFilter(Filter):
    """on_end(callback): callback() (or callback(error of the StreamEnd that came in)) runs once when the pipeline
    is shut down; events pass unchanged. See pipyx/filters/on_end.py."""

    def __init__(self, fn: Callable[..., object], takes_arg: bool = False) -> None: ...


class OnStartFilter(CallbackFilter):
    """on_start(callback or events): when the pipeline starts, what callback(start argument) returns (or the value
    itself) goes through the pipeline before its first event: an event, a Message, bytes or str, a list of these,
    None, or an awaitable of one (the stream's events wait for it)."""

    def __init__(self, fn: Any, takes_arg: bool = True) -> None: ...


class InsertFilter(CallbackFilter):
    """insert(events or callable): when the stream's first event arrives, what callable() returns (or the value
    itself) goes out before it: an event, a Message, bytes or str, a list of these, None, or an awaitable of one."""

    def __init__(self, fn: Any) -> None: ...


class DummyFilter(Filter):
    """dummy(): drops every event except StreamEnd."""


class UseFilter(Filter):
    """use(modules, name): runs the stream through the pipeline `name` of each module in turn."""

    def __init__(self, layouts: Iterable[LayoutRef]) -> None: ...


class ChainFilter(Filter):
    """chain(): inside a module run by use(), goes on to the next module's pipeline; after the last, passes on."""


class WaitFilter(Filter):
    """wait(condition, timeout=None): holds the stream's events until condition() is true, then lets them all go."""

    def __init__(self, condition: Callable[[], object], timeout: float | None = None) -> None: ...


class ThrottleShared: ...


class RateBucket:
    """The tokens of one key: refilled at rate per second up to burst."""


class ThrottleGate(Endpoint): ...


class ThrottleMessageRate(Filter):
    """throttle_message_rate(rate, burst=None, key=None, match=None)"""

    def __init__(self, rate: float, burst: float | None = None, key: _PerStream = None,
                 match: Callable[[Any], object] | None = None) -> None: ...


def parse_seconds(value: float | str, name: str) -> float:
    """A duration: a number of seconds, or a string with a unit as Pipy writes them ('500ms', '1s', '5m', '1h')."""


class QuotaCounter: ...


class Quota:
    """algo.Quota(initial, per=None, produce=None, max=None, key=None): an amount that throttle filters take from.
    `per` (seconds, or '1s', '500ms'...): that long after something was taken, the amount comes back up to initial,
    or by `produce` at a time, every `per`, until it is there. Without `per` nothing comes back by itself: produce()
    gives it back. `max` caps what produce() can raise it to (no cap by default). Quotas made with the same `key`
    share one amount, wherever in the process they were made, while one of them is still held."""

    def __init__(self, initial: float, per: float | str | None = None, produce: float | None = None,
                 max: float | None = None, key: Hashable | None = None) -> None: ...
    @property
    def initial(self) -> float:
        """The amount the quota starts with, and comes back to. Set at run time, it changes where the quota comes
        back to from the next refill on (current is left as it is: produce() or reset() for that)."""
    @initial.setter
    def initial(self, value: float) -> None: ...
    @property
    def per(self) -> float:
        """Seconds after a take until the amount comes back (0: never by itself); settable at run time."""
    @per.setter
    def per(self, value: float | str | None) -> None: ...
    @property
    def current(self) -> float:
        """The amount there is now."""
    def consume(self, amount: float) -> float:
        """Takes up to amount and returns how much was taken (less when there is less)."""
    def produce(self, amount: float) -> None:
        """Adds amount (up to max): filters waiting for the quota take it first, in the order they came."""
    def reset(self) -> None:
        """Back to the initial amount: what is missing is produced, an amount above it is cut back."""


class ThrottleQuota(Filter):
    def __init__(self, quota: Quota | Callable[[], Quota], block_input: bool = True) -> None: ...


class ThrottleConcurrency(ThrottleQuota):
    """throttle_concurrency(quota, block_input=True)"""


class ThrottleDataRate(ThrottleQuota):
    """throttle_data_rate(quota, block_input=True)"""


class ThrottleMessageQuota(ThrottleQuota):
    """throttle_message_rate(quota, block_input=True)"""


# -- filters: messages of any protocol (demux, mux) ---------------------------------------------------------------

class InputGate(Endpoint):
    """Congested while a filter holds input it will not take yet: the endpoint whose read brought that input pauses
    its reading until the gate opens."""


class DemuxSlot(EventTarget):
    """One message's place in the output order; its sub-pipeline outputs into it."""


class Demux(Filter):
    """demux(output_count=1, max_queue=256): a sub-pipeline per message (from .to(...)); their outputs go out in
    the order of the messages."""

    def __init__(self, target: LayoutRef, output_count: int | Callable[[MessageStart], int] = 1,
                 max_queue: int = 256) -> None: ...


class MuxState:
    """What every instance of one mux filter shares: its options and its session pools."""


class MuxSessionPool:
    """The sessions of one session key, in the order they opened: the oldest with room takes the next message, so a
    light load keeps to few sessions and the rest go idle and close."""


class MuxSession(EventTarget):
    """One shared session: its pipeline's input is the messages of many streams, its output their replies."""


class MuxRequest:
    """One message sent into a session, awaiting its replies."""


class Mux(Filter):
    """mux(session_key=None, output_count=1, max_idle=60, max_queue=1000, max_messages=0, max_message_size=16 MiB):
    merges the messages of many streams into shared sessions (the sub-pipeline from .to(...)) and outputs each
    message's replies to the stream it came from."""

    def __init__(self, target: LayoutRef, session_key: _PerStream = None,
                 output_count: int | Callable[[MessageStart], int] = 1, max_idle: float = 60.0,
                 max_queue: int = 1000, max_messages: int = 0, max_message_size: int = 16 << 20) -> None: ...


# -- HTTP --------------------------------------------------------------------------------------------------------

class HttpSink:
    """Receives what an HttpDecoder decodes: a filter's reader (serve_http, mux_http, decode_http_*) or, in tests
    and tools, an HttpDecodeLog."""


class HttpDecodeLog(HttpSink):
    """A sink that keeps what it is given as tuples: ('head', head), ('body', bytes), ('end',), ('error', status).
    With HttpDecoder.feed_bytes() it drives the decoder from Python with bytes alone."""

    events: list[tuple[Any, ...]]
    bodiless: bool
    def __init__(self, bodiless: bool = False) -> None: ...


class HttpDecoder:
    """The HTTP/1.x decoder of one direction of one connection: requests (response_mode False) or responses."""

    head_request: bool
    """Response mode: the response answers a HEAD request (no body)."""
    connect_request: bool
    """Response mode: the response answers a CONNECT (a 2xx opens a tunnel)."""
    paused: bool
    """The sink asks to stop; the rest waits."""
    def __init__(self, sink: HttpSink, response_mode: bool, limits: HttpLimits | None = None) -> None: ...
    def feed_bytes(self, data: bytes) -> None:
        """Decodes bytes (from Python: tests, tools)."""
    def feed_end(self) -> None:
        """The bytes have ended (the peer closed)."""


class ResponseEncoder(EventTarget):
    """The encoder of one response to one request. emit(), body_waiting(), response_done() and response_cut() are
    for the owner to say what happens to its output."""

    def __init__(self, request: RequestHead) -> None: ...
    def take_bytes(self) -> bytes: ...
    def send_held(self) -> bool: ...


class HttpDecodingFilter(Filter):
    """A filter an HttpDecoder reports to (through a FilterSink): serve_http, demux_http, mux_http's sessions and
    decode_http_*. The methods are HttpSink's."""


class FilterSink(HttpSink):
    """Passes what a decoder decodes on to the filter that owns the decoder."""


class MessageEncoder(EventTarget):
    """Encodes one message after another into Data for `out`, with Content-Length or chunked."""

    head_request: bool
    """Encoding the response to a HEAD request."""
    keep_alive: bool
    keep: bool
    """Keep a copy of a fully buffered request (for a retry)."""
    whole: bytes | None
    hold_unsized: int
    """A body with no declared length is held whole up to this size and sent with a Content-Length."""
    broken: bool
    """The body did not match the declared length: the connection must be dropped."""
    def __init__(self, out: EventTarget, response: bool) -> None: ...


class DecodeHTTP(HttpDecodingFilter):
    """decode_http_request() / decode_http_response(): bytes in, HTTP messages out."""

    def __init__(self, response_mode: bool, limits: HttpLimits | None = None,
                 bodiless: Callable[[], object] | None = None) -> None: ...


class EncodeHTTP(Filter):
    """encode_http_request() / encode_http_response(): HTTP messages in, bytes out."""

    def __init__(self, response_mode: bool, head_request: Callable[[], object] | None = None) -> None: ...


class ResponseSlot(ResponseEncoder):
    """One request's place in the response order: its encoded response waits for the slots ahead of it."""


class HttpServerBase(HttpDecodingFilter):
    """Decodes requests and puts the responses in order; serve_http and demux_http say how a request is answered."""


class ServeHTTP(HttpServerBase):
    """serve_http(handler): answers each request with handler(request Message) -> response Message (or str, bytes,
    None, or an awaitable of one)."""

    def __init__(self, handler: Any, limits: HttpLimits | None = None, files: FileAnswerer | None = None) -> None: ...


class DemuxHTTP(HttpServerBase):
    """demux_http(): gives every request its own sub-pipeline, which receives the request message and outputs the
    response message."""

    def __init__(self, target: LayoutRef, limits: HttpLimits | None = None, tunnel_idle_timeout: float = 60.0) -> None: ...


class FileAnswerer:
    """What the fast path reads of a Directory: its cache's URL table and settings, and the negotiator's answers."""

    def __init__(self, directory: Any) -> None: ...


class FileSender: ...


class MuxOptions:
    max_idle: float
    max_messages: int
    limits: HttpLimits
    retry_idempotent: bool
    """A request with an idempotent method may be sent once more when a reused connection fails before answering."""
    buffer_chunked_body: int
    """A request body with no declared length up to this size is sent whole with a Content-Length."""
    def __init__(self, max_idle: float = 60.0, max_messages: int = 0, limits: HttpLimits | None = None,
                 retry_idempotent: bool = True, buffer_chunked_body: int = 1048576) -> None: ...


class SessionPool:
    """The idle sessions for one session key."""

    active: int


class MuxShared:
    """What every instance of one mux_http filter shares: its options and its pools."""


class HttpClientSession(HttpDecodingFilter):
    """One upstream session: the session pipeline, the response decoder, and the request it is serving."""


class MuxHTTP(Filter):
    """mux_http(): sends each request over a pooled upstream session and outputs the response."""

    def __init__(self, target: LayoutRef, session_key: _PerStream = None, opts: MuxOptions | None = None) -> None: ...


# -- compression: content codings and the compress family --------------------------------------------------------

CODINGS: Final[dict[str, int]]
"""The coding index of each method name compress() and decompress() take ('gzip', 'x-gzip', 'deflate', 'inflate',
'br', 'brotli')."""

CODING_NAMES: Final[tuple[str, ...]]
"""The HTTP name of each coding, by index: identity, gzip, deflate, br."""


class ContentCodingError(ValueError):
    """A body could not be decompressed; reason is the StreamEnd error its stream ends with."""
    reason: ClassVar[str]


class CorruptContent(ContentCodingError):
    """The compressed bytes are not valid for their coding, or stop before their end."""


class ContentTooLarge(ContentCodingError):
    """Decompressing would produce more than the limit allows (a zip bomb, or a limit set too low)."""


class ContentEncoder:
    """Compresses one body or stream: feed() chunks, flush() what a reader must see now, finish() at the end."""


class ContentDecoder:
    """Decompresses one body or stream: feed() chunks, finish() at the end. Raises CorruptContent or
    ContentTooLarge, after which it must not be fed again."""


class CodingFilter(Filter):
    """Base of the compress family."""


class CompressFilter(CodingFilter):
    """compress(method, level) / decompress(method, max_size): each message body is coded on its own; Data outside
    messages is coded as one stream that ends with the stream."""

    def __init__(self, decoding: bool, coding: int, method: Callable[[], str | None] | None,
                 levels: tuple[int | None, ...], max_size: int) -> None: ...


class CompressHttpOptions:
    """What every clone of one compress_http shares."""

    def __init__(self, offered: tuple[str, ...] | Callable[[MessageStart], str | Iterable[str] | None],
                 levels: tuple[int | None, ...], types: Iterable[str], min_size: int, negotiator: Any,
                 accept_encoding: _PerStream) -> None: ...


class CompressHTTP(CodingFilter):
    """compress_http(...): compresses a response body with the best coding its request accepts, and says so in its
    head (Content-Encoding, Vary, a weak ETag, no Content-Length)."""

    def __init__(self, opts: CompressHttpOptions) -> None: ...


class DecompressHTTP(CodingFilter):
    """decompress_http(enable, max_size): decompresses a message whose Content-Encoding is gzip, deflate or br, and
    takes the coding out of its head."""

    def __init__(self, enable: _PerStream, max_size: int) -> None: ...


# -- sockets -----------------------------------------------------------------------------------------------------

class ListenerState:
    """What a listening port needs per connection: its current layout (swapped on reload) and its options."""

    layout: PipelineLayout
    idle_timeout: float
    linger_time: float
    """After pipyx ends a connection, how long what the client still sends is read and dropped."""
    linger_timeout: float
    """And the longest pause in it."""
    read_timeout: float
    """The longest wait for a byte from the client."""
    write_timeout: float
    """The longest bytes may wait to be sent without any going out."""
    congestion_limit: int
    """The send buffer's high-water mark (0: the event loop's)."""
    buffer_limit: int
    """Bytes waiting to be sent above which the connection is dropped (0: none)."""
    transparent: bool
    """Find the original destination (SO_ORIGINAL_DST) for ctx.inbound."""
    splice: bool
    """Relay a connection in the kernel when its pipeline only relays (io/relay)."""
    on_close: Callable[[], object] | None
    """Called as a connection goes: max_connections resumes accepting."""
    connections: set[Inbound]
    draining: bool
    loop: asyncio.AbstractEventLoop | None
    def __init__(self, layout: PipelineLayout, idle_timeout: float = 60.0, linger_time: float = 30.0,
                 linger_timeout: float = 5.0) -> None: ...
    def __call__(self) -> Inbound:
        """The protocol factory handed to loop.create_server."""
    def drain(self) -> None:
        """Stop the connections gently: HTTP ones after their in-flight requests, idle ones now."""
    def abort_all(self) -> None: ...


class Inbound(Endpoint):
    """An accepted connection (an asyncio protocol): runs one instance of its listener's layout."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None: ...
    def data_received(self, data: bytes) -> None: ...
    def eof_received(self) -> bool | None: ...
    def connection_lost(self, exc: BaseException | None) -> None: ...
    def pause_writing(self) -> None: ...
    def resume_writing(self) -> None: ...
    def abort(self) -> None: ...


class ConnectOptions:
    """Timeouts (seconds; 0 means none) and the most bytes held while the connection is being made."""

    connect_timeout: float
    read_timeout: float
    """While the peer owes an answer, the longest wait for its next byte."""
    idle_timeout: float
    """The longest time with no traffic either way."""
    buffer_limit: int
    write_timeout: float
    """The longest bytes may wait in the send buffer without any going out."""
    congestion_limit: int
    """The send buffer's high-water mark (0: the event loop's)."""
    retry_count: int
    """Connection attempts after a failed one; -1: no end."""
    retry_delay: float
    keep_alive: bool
    no_delay: bool
    bind: Any
    """The local 'ip:port' (or 'ip', or a callable returning one), or None."""
    on_state: Callable[[OutboundInfo], object] | None
    """on_state(outbound): called as the connection's state changes."""
    def __init__(self, connect_timeout: float = 5.0, read_timeout: float = 60.0, idle_timeout: float = 300.0,
                 buffer_limit: int = 1048576, write_timeout: float = 0.0, congestion_limit: int = 0,
                 retry_count: int = 0, retry_delay: float = 0.0, keep_alive: bool = True, no_delay: bool = True,
                 bind: Any = None, on_state: Callable[[OutboundInfo], object] | None = None) -> None: ...


class OutboundInfo:
    """What connect's on_state callback is given: the connection's state ('connecting', 'connected', 'idle' while
    waiting to retry, 'closed'), the error it closed or failed with, its addresses, and the retries so far."""

    state: str
    error: str | None
    remote_address: str | None
    remote_port: int | None
    local_address: str | None
    local_port: int | None
    retries: int
    def __init__(self) -> None: ...


class Connect(Endpoint):
    """connect(target): the stream's bytes to and from a TCP connection (an asyncio protocol)."""

    address: Any
    def __init__(self, target: _PerStream, opts: ConnectOptions | None = None) -> None: ...
    def fail(self, error: str, detail: str | None = None) -> None:
        """Ends the stream with StreamEnd(error), logging why (detail) it could not connect."""
    def connection_made(self, transport: asyncio.BaseTransport) -> None: ...
    def data_received(self, data: bytes) -> None: ...
    def eof_received(self) -> bool | None: ...
    def connection_lost(self, exc: BaseException | None) -> None: ...
    def pause_writing(self) -> None: ...
    def resume_writing(self) -> None: ...


class UdpListenerState:
    """The protocol of a listening UDP port and what its streams share: the current layout (swapped on reload),
    idle_timeout, max_peers and the streams by peer address. The worker keeps it as the port's server too."""

    layout: PipelineLayout
    idle_timeout: float
    max_peers: int
    """Streams at once; datagrams from further new peer addresses are dropped, with a log line every 10 s."""
    connections: dict[Any, UdpPeer]
    draining: bool
    loop: asyncio.AbstractEventLoop | None
    def __init__(self, layout: PipelineLayout, idle_timeout: float = 60.0, max_peers: int = 10000) -> None: ...
    def __call__(self) -> UdpListenerState: ...
    def connection_made(self, transport: asyncio.BaseTransport) -> None: ...
    def datagram_received(self, data: bytes, addr: Any) -> None: ...
    def error_received(self, exc: BaseException) -> None: ...
    def connection_lost(self, exc: BaseException | None) -> None: ...
    def drain(self) -> None:
        """Stop: every peer's stream ends now."""
    def abort_all(self) -> None: ...
    def close(self) -> None:
        """Closes the port's socket."""
    @property
    def sockets(self) -> list[Any]: ...


class UdpPeer(EventTarget):
    """One peer address of a UDP listener: what its stream outputs goes back to it, a message as one datagram."""


class ConnectUDP(Filter):
    """connect(target, protocol='udp'): a connected UDP socket per stream; a message out is one datagram, a datagram
    in is one message (an asyncio datagram protocol)."""

    address: Any
    def __init__(self, target: _PerStream, opts: ConnectOptions | None = None) -> None: ...
    def fail(self, error: str, detail: str | None = None) -> None:
        """Ends the stream with StreamEnd(error), logging why (detail) unless it is IdleTimeout."""
    def connection_made(self, transport: asyncio.BaseTransport) -> None: ...
    def datagram_received(self, data: bytes, addr: Any) -> None: ...
    def error_received(self, exc: BaseException) -> None: ...
    def connection_lost(self, exc: BaseException | None) -> None: ...
    def connection_info(self) -> tuple[asyncio.BaseTransport, float] | None:
        """(transport, opened_at) while the socket is open, else None: what pipyx.outbound() lists."""
    def datagram_bytes(self) -> tuple[int, int]:
        """(received, sent): the bytes of the datagrams so far (UDP has no kernel count to ask)."""


class SpliceRelay:
    """An accepted connection and its connect() joined in the kernel (see the top of io/relay.pxi)."""


# -- SOCKS and the PROXY protocol ----------------------------------------------------------------------------------

class ProxyHeader:
    """What a PROXY protocol header says."""

    version: int
    command: str
    """'PROXY', or 'LOCAL' (v2: the proxy's own connection, such as a health check)."""
    transport: str
    """'TCP4', 'TCP6', 'UDP4', 'UDP6', 'UNIX', 'UNIX_DGRAM' or 'UNKNOWN'."""
    source_address: str | None
    source_port: int | None
    destination_address: str | None
    destination_port: int | None
    tlvs: dict[int, bytes]
    def __init__(self, version: int = 1, command: str = 'PROXY', transport: str = 'UNKNOWN',
                 source_address: str | None = None, source_port: int | None = None,
                 destination_address: str | None = None, destination_port: int | None = None,
                 tlvs: dict[int, bytes] | None = None) -> None: ...


class ProxyHeaderParser:
    """Reads one PROXY protocol header (v1 or v2) from the start of a stream, in pieces split anywhere."""

    max_size: int
    header: ProxyHeader | None
    error: str | None
    rest: bytes
    """The bytes that followed the header."""
    def __init__(self, max_size: int = 4096) -> None: ...
    def feed(self, data: bytes) -> int:
        """0 while more is needed, 1 once the header is read, -1 when the stream does not start with a valid one."""


def encode_proxy_header(version: int, source: tuple[str, int] | None, destination: tuple[str, int] | None,
                        transport: str | None = None, tlvs: Any = None) -> bytes:
    """A PROXY protocol header (None addresses: v1 UNKNOWN, v2 LOCAL); tlvs for v2: {type: bytes}."""


class ProxiedInbound(InboundInfo):
    """ctx.inbound after accept_proxy_protocol: the addresses the header gives; proxy_header and via (the
    InboundInfo of the connection it came over)."""

    proxy_header: ProxyHeader
    via: InboundInfo | None
    def __init__(self, h: ProxyHeader, via: InboundInfo | None) -> None: ...
    @property
    def tlvs(self) -> dict[int, bytes]: ...


class SocksServer:
    """The server side of a SOCKS4/4a/5 handshake, sans-I/O. feed() returns 0 (more needed), 1 (check the login:
    accept_auth()), 2 (check the CONNECT: accept_connect()) or -1 (failed: error)."""

    require_auth: bool
    version: int
    host: str | None
    port: int
    user: str | None
    password: str | None
    error: str | None
    def __init__(self, require_auth: bool = False) -> None: ...
    def feed(self, data: bytes) -> int: ...
    def accept_auth(self, ok: bool) -> int:
        """The answer to 1; returns what feed() would for the bytes already held."""
    def accept_connect(self, ok: bool) -> int:
        """3 when allowed, -1 when refused."""
    def take_output(self) -> bytes:
        """What to send the client now."""
    def take_rest(self) -> bytes:
        """After the CONNECT: the bytes that followed the request."""


class SocksClient:
    """The client side of a SOCKS5 CONNECT, sans-I/O: start() gives the greeting; feed() returns 0 (more needed), 3
    (connected) or -1 (failed: error)."""

    host: str
    port: int
    user: str | None
    password: str | None
    error: str | None
    def __init__(self, host: str, port: int, user: str | None = None, password: str | None = None) -> None: ...
    def start(self) -> bytes: ...
    def feed(self, data: bytes) -> int: ...
    def take_output(self) -> bytes: ...
    def take_rest(self) -> bytes: ...


def socks_target() -> tuple[str, int] | None:
    """The (host, port) the SOCKS client asked accept_socks for, in the stream whose callback runs."""


class AcceptProxyProtocol(Filter):
    """accept_proxy_protocol(): reads the PROXY header into ctx.inbound, then the stream goes to the sub-pipeline."""

    def __init__(self, target: LayoutRef, on_header: Callable[[ProxyHeader], Any] | None = None,
                 max_header_size: int = 4096) -> None: ...


class ConnectProxyProtocol(Filter):
    """connect_proxy_protocol(version): a PROXY header, then the stream, into the sub-pipeline."""

    def __init__(self, target: LayoutRef, version: int = 1, addresses: Callable[[], Any] | None = None,
                 tlvs: Any = None) -> None: ...


class AcceptSocks(Filter):
    """accept_socks(on_connect): the server side of a SOCKS handshake, then the stream to the sub-pipeline."""

    def __init__(self, target: LayoutRef, on_connect: Callable[[str, int, str | None], Any] | None = None,
                 auth: Callable[[str, str], Any] | None = None) -> None: ...


class SocksReturn(EventTarget):
    """Takes what connect_socks's sub-pipeline outputs back to its filter."""


class ConnectSocks(Filter):
    """connect_socks(address): a SOCKS5 CONNECT through the sub-pipeline, then the stream."""

    def __init__(self, target: LayoutRef, address: _PerStream, user: str | None = None, password: str | None = None,
                 buffer_limit: int = 1048576) -> None: ...


# -- HTTP tunnels (Upgrade, CONNECT) -------------------------------------------------------------------------------

def http_tunnel_target() -> tuple[str, int] | None:
    """The (host, port) of the CONNECT that accept_http_tunnel is answering, for the stream whose callback is
    running: `connect(http_tunnel_target)` in accept_http_tunnel's sub-pipeline. None before the request is read."""


class TunnelIdleTimer:
    """Closes a server's tunnel after tunnel_idle_timeout without bytes either way (nginx's proxy_read_timeout)."""

    def fire(self) -> None: ...


class AcceptHttpTunnel(Filter):
    """accept_http_tunnel(on_connect): under demux_http, answers a request for a tunnel, then relays its bytes through
    the sub-pipeline."""

    def __init__(self, target: LayoutRef, on_connect: Callable[..., Any], by_address: bool) -> None: ...


class HttpTunnelReturn(EventTarget):
    """Takes what connect_http_tunnel's sub-pipeline outputs back to its filter."""


class ConnectHttpTunnel(Filter):
    """connect_http_tunnel(address): a CONNECT through the sub-pipeline (HTTP to a proxy), then the stream's bytes."""

    def __init__(self, target: LayoutRef, address: Any, authorization: Any = None,
                 buffer_limit: int = 1048576) -> None: ...


# -- tunnels -----------------------------------------------------------------------------------------------------

class TunnelOptions:
    """window: the bytes a channel may have in flight towards this side (at least 64 KiB); ping_interval: seconds
    of silence before a PING, and again before the tunnel is given up (0: never); max_sessions / max_streams:
    tunnel connections per session key, channels per tunnel (0: no limit)."""

    window: int
    ping_interval: float
    max_sessions: int
    max_streams: int
    def __init__(self, window: int = 65536, ping_interval: float = 15.0, max_sessions: int = 1,
                 max_streams: int = 0) -> None: ...


class TunnelChannel(Endpoint):
    """One stream inside a tunnel."""


class TunnelFrameSink:
    """Receives the frames a TunnelFrameReader reads: a tunnel's peer, or in tests a TunnelFrameLog."""


class TunnelFrameLog(TunnelFrameSink):
    """A sink that keeps what it is given as tuples ('open', cid, meta), ('data', cid, bytes), ('end', cid),
    ('reset', cid, reason), ('window', cid, n), ('ping', payload), ('error', what)."""

    events: list[tuple[Any, ...]]
    def __init__(self) -> None: ...


class TunnelFrameReader:
    """Reads frames from the bytes of one tunnel connection, in pieces split anywhere."""

    def __init__(self, sink: TunnelFrameSink) -> None: ...
    def feed_bytes(self, data: bytes) -> None:
        """Reads bytes (from Python: tests, tools)."""


class TunnelFrameWriter:
    """Collects frames as bytes until they are taken."""

    def hello(self) -> None: ...
    def open(self, cid: int, meta: bytes = b'') -> None: ...
    def data(self, cid: int, payload: bytes | Data) -> None: ...
    def end(self, cid: int) -> None: ...
    def reset(self, cid: int, reason: str) -> None: ...
    def window(self, cid: int, n: int) -> None: ...
    def ping(self, payload: bytes = b'pipyx') -> None: ...
    def take_bytes(self) -> bytes: ...


class PeerFrames(TunnelFrameSink):
    """What the frames read from a tunnel mean to its peer's channels."""


class TunnelPeer(Filter):
    """One end of a tunnel connection: the channel table, the frame decoder, and the buffer frames are written to."""


class ConnectTunnelShared:
    """What every instance of one connect_tunnel filter shares: its sub-pipeline, options and sessions per key."""


class TunnelSession(TunnelPeer):
    """A tunnel connection opened by connect_tunnel: one instance of the sub-pipeline (typically connect(cloud))."""


class ConnectTunnel(Filter):
    """connect_tunnel(): carries this stream's bytes in a channel of a shared tunnel session and outputs what comes
    back."""

    def __init__(self, target: LayoutRef, session_key: _PerStream = None,
                 opts: TunnelOptions | None = None) -> None: ...


class AcceptTunnel(TunnelPeer):
    """accept_tunnel(): the far end of connect_tunnel's tunnels; each channel gets its own instance of the
    sub-pipeline."""

    def __init__(self, target: LayoutRef, opts: TunnelOptions | None = None) -> None: ...


# -- TLS ---------------------------------------------------------------------------------------------------------

class TlsError(Exception):
    """A TLS setting that OpenSSL refused (a certificate, a key, a cipher list), in OpenSSL's words."""


class TlsContext:
    """The settings of one side of TLS, an OpenSSL SSL_CTX: made once per filter of a script, shared by its
    connections."""

    def __init__(self, server: bool, options: dict[str, Any]) -> None: ...
    def lookup(self, name: str | None) -> TlsContext | None: ...


class TlsSession:
    """A client session kept to resume the next connection to the same server with."""


class TlsCertificate:
    """The peer's certificate as a script sees it: subject and issuer (RFC 2253 strings), sans (the subject
    alternative names, 'DNS:name' / 'IP:addr' / 'email:...' / 'URI:...') and fingerprint (SHA-256 of the DER,
    hex)."""

    subject: str
    issuer: str
    sans: list[str]
    fingerprint: str
    def __init__(self, subject: str, issuer: str, sans: list[str], fingerprint: str) -> None: ...


class TlsInfo:
    """ctx.tls: what the handshake settled. sni (the name the client asked for, or None), alpn (the protocol
    chosen, or None), version ('TLSv1.3'), cipher (OpenSSL's name), peer (a TlsCertificate, or None), resumed
    (whether an earlier session was resumed)."""

    sni: str | None
    alpn: str | None
    version: str | None
    cipher: str | None
    peer: TlsCertificate | None
    resumed: bool
    def __init__(self, sni: str | None = None, alpn: str | None = None, version: str | None = None,
                 cipher: str | None = None, peer: TlsCertificate | None = None, resumed: bool = False) -> None: ...


def tls_failure_reason() -> str | None:
    """While the StreamEnd of a failed TLS connection is being passed on (synchronously, from the filter that
    failed), the reason it failed, as logged ('certificate verify failed: hostname mismatch'); None otherwise.
    Lets the code that receives that end (pipyx.Agent) say why, as errno does for a system call."""


class TlsFilter(Filter):
    """What accept_tls and connect_tls share: one TLS connection between a cipher side and a plain side, one of
    them its sub-pipeline. Subclasses say where each side's bytes go (emit_cipher, emit_plain)."""

    info: TlsInfo | None


class TlsSubOutput(EventTarget):
    """What a TLS filter's sub-pipeline outputs, handed back to the filter."""


class AcceptTLS(TlsFilter):
    """accept_tls(certificate=..., ...).to(layout): TLS from a client, the sub-pipeline on the plain side."""

    def __init__(self, config: TlsContext, target: LayoutRef, handshake: Callable[[TlsInfo], object] | None = None,
                 handshake_timeout: float = 10.0, max_hello_size: int = 16384) -> None: ...


class ConnectTLS(TlsFilter):
    """connect_tls(sni=..., ...).to(layout): TLS to a server, the sub-pipeline on the cipher side."""

    def __init__(self, config: TlsContext, target: LayoutRef, sni: _PerStream = None,
                 handshake: Callable[[TlsInfo], object] | None = None, handshake_timeout: float = 10.0,
                 max_pending_size: int = 1048576) -> None: ...


class TlsHelloParser:
    """feed(bytes) until state is no longer HELLO_MORE (0): HELLO_DONE (1) with sni (str or None), alpn (list of
    str) and versions (TLS versions offered, as 'TLSv1.3' ...), or HELLO_BAD (2) with error."""

    state: int
    error: str | None
    sni: str | None
    alpn: list[str]
    versions: list[str]
    def __init__(self, limit: int = ...) -> None: ...
    def feed(self, data: bytes | bytearray | memoryview) -> int:
        """Takes the next bytes of the stream; returns the state."""


class TlsClientHello:
    """What handle_tls_client_hello's callback gets: sni (the name asked for, or None), alpn (the protocols
    offered, a list), versions (the TLS versions offered, as 'TLSv1.3', ...)."""

    sni: str | None
    alpn: list[str]
    versions: list[str]
    def __init__(self, sni: str | None, alpn: list[str], versions: list[str]) -> None: ...


class HandleTlsClientHello(Filter):
    """handle_tls_client_hello(callback): calls back with the stream's ClientHello, then passes the stream on."""

    def __init__(self, callback: Callable[[TlsClientHello], object], max_hello_size: int = 16384) -> None: ...


# -- DNS: the codec (codecs/dns.pxi) and decode_dns / encode_dns ------------------------------------------------

DNS_TYPES: Final[dict[str, int]]
"""Record type names and their numbers ('A': 1, 'AAAA': 28, ...)."""

DNS_TYPE_NAMES: Final[dict[int, str]]
"""Record type numbers and their names."""

DNS_RCODES: Final[dict[str, int]]
"""Response code names and their numbers ('NXDOMAIN': 3, ...)."""


class DnsError(ValueError):
    """A DNS message that cannot be read: what is wrong with it, and where."""


class DnsQuestion:
    """A question: name (without the final dot), type (an int: 1 for A...; type_name gives 'A'), class_ (1: IN)."""

    name: str
    type: int
    klass: int
    def __init__(self, name: str, type: str | int = 'A', class_: int = 1) -> None: ...
    @property
    def class_(self) -> int: ...
    @class_.setter
    def class_(self, v: int) -> None: ...
    @property
    def type_name(self) -> str: ...


class DnsRecord:
    """A resource record: name, type (int), class_, ttl, rdata (bytes, names in it uncompressed) and data, the
    rdata readable: A/AAAA an address str, CNAME/NS/PTR/DNAME a name, MX (preference, exchange), SRV (priority,
    weight, port, target), SOA (mname, rname, serial, refresh, retry, expire, minimum), TXT a list of bytes; other
    types their rdata bytes. Setting data sets rdata."""

    name: str
    type: int
    klass: int
    ttl: int
    rdata: bytes
    def __init__(self, name: str, type: str | int = 'A', ttl: int = 0, data: Any = None,
                 rdata: bytes | None = None, class_: int = 1) -> None: ...
    @property
    def class_(self) -> int: ...
    @class_.setter
    def class_(self, v: int) -> None: ...
    @property
    def type_name(self) -> str: ...
    @property
    def data(self) -> Any: ...
    @data.setter
    def data(self, value: Any) -> None: ...


class DnsEdns:
    """EDNS0, the OPT record: payload_size (the largest UDP answer the sender takes), do (DNSSEC OK), version,
    ext_rcode, options [(code, bytes)]; client_subnet reads option 8."""

    payload_size: int
    ext_rcode: int
    version: int
    do: bool
    options: list[tuple[int, bytes]]
    def __init__(self, payload_size: int = 1232, do: bool = False, options: Iterable[tuple[int, bytes]] | None = None,
                 version: int = 0, ext_rcode: int = 0) -> None: ...
    @property
    def client_subnet(self) -> tuple[str, int, int] | None:
        """(address, source_prefix, scope_prefix) of the client subnet option, or None."""
    def set_client_subnet(self, address: str, source_prefix: int, scope_prefix: int = 0) -> None:
        """Sets (or replaces) the client subnet option: address keeps only its first source_prefix bits."""


class DnsMessage:
    """A DNS message. DnsMessage(wire_bytes) parses one (DnsError says what is wrong); DnsMessage(id=..., rd=True,
    questions=[...], answers=[...], ...) builds one; DnsMessage.query(name, type) makes a query. Fields: id, qr,
    opcode, aa, tc, rd, ra, ad, cd, rcode; questions, answers, authority, additional (lists, made when first read; the
    OPT record is not among additional: it is edns). Written back as the bytes it came as unless a script changed
    the questions, records or edns (a changed id or flag is patched into those bytes)."""

    tcp: bool
    def __init__(self, data: bytes | bytearray | memoryview | None = None, id: int = 0, qr: bool = False,
                 opcode: int = 0, aa: bool = False, tc: bool = False, rd: bool = False, ra: bool = False,
                 ad: bool = False, cd: bool = False, rcode: int | str = 0,
                 questions: Iterable[DnsQuestion] | None = None, answers: Iterable[DnsRecord] | None = None,
                 authority: Iterable[DnsRecord] | None = None, additional: Iterable[DnsRecord] | None = None,
                 edns: DnsEdns | None = None) -> None: ...
    @staticmethod
    def query(name: str, type: str | int = 'A', *, id: int | None = None, rd: bool = True,
              edns: DnsEdns | None = None) -> DnsMessage:
        """A query for name and type (with a random id unless given; edns: a DnsEdns or None)."""
    @staticmethod
    def from_dnslib(record: Any) -> DnsMessage:
        """A DnsMessage from a dnslib.DNSRecord."""
    id: int
    @property
    def flags(self) -> int:
        """The 16 bits of flags, opcode and rcode as on the wire."""
    @flags.setter
    def flags(self, v: int) -> None: ...
    @property
    def qr(self) -> bool:
        """A response (QR)."""
    @qr.setter
    def qr(self, v: bool) -> None: ...
    @property
    def aa(self) -> bool:
        """An authoritative answer (AA)."""
    @aa.setter
    def aa(self, v: bool) -> None: ...
    @property
    def tc(self) -> bool:
        """Truncated (TC)."""
    @tc.setter
    def tc(self, v: bool) -> None: ...
    @property
    def rd(self) -> bool:
        """Recursion desired (RD)."""
    @rd.setter
    def rd(self, v: bool) -> None: ...
    @property
    def ra(self) -> bool:
        """Recursion available (RA)."""
    @ra.setter
    def ra(self, v: bool) -> None: ...
    @property
    def ad(self) -> bool:
        """Authentic data (AD)."""
    @ad.setter
    def ad(self, v: bool) -> None: ...
    @property
    def cd(self) -> bool:
        """Checking disabled (CD)."""
    @cd.setter
    def cd(self, v: bool) -> None: ...
    opcode: int
    @property
    def rcode(self) -> int:
        """The response code: 0 NOERROR, 1 FORMERR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED (set it by number or name)."""
    @rcode.setter
    def rcode(self, v: int | str) -> None: ...
    questions: list[DnsQuestion]
    @property
    def question(self) -> DnsQuestion | None:
        """The first question, or None."""
    @property
    def qname(self) -> str:
        """The first question's name, lower-cased ('' for none): read without making the question objects."""
    @property
    def qtype(self) -> int | None:
        """The first question's type (an int), or None."""
    answers: list[DnsRecord]
    authority: list[DnsRecord]
    additional: list[DnsRecord]
    @property
    def edns(self) -> DnsEdns | None:
        """The EDNS0 options (DnsEdns), or None: a message without an OPT record. Set to add, change or remove."""
    @edns.setter
    def edns(self, v: DnsEdns | None) -> None: ...
    @property
    def payload_size(self) -> int:
        """The largest UDP answer the sender takes: its EDNS0 payload size, 512 without EDNS0 (never under 512)."""
    @property
    def client_subnet(self) -> tuple[str, int, int] | None:
        """(address, source_prefix, scope_prefix) from EDNS0, or None."""
    @property
    def cache_key(self) -> bytes | None:
        """bytes naming what the message asks: the first question (name lower-cased, type, class), whether it has
        EDNS0, and the DO and CD bits; None without a question. Two queries with the same key get the same answer."""
    def min_ttl(self) -> int | None:
        """The seconds the message may be cached: the lowest TTL of its records (OPT aside); for an answer without
        answers, the lower of its SOA's TTL and minimum (negative caching, RFC 2308); None when it says neither."""
    def ttl_offsets(self) -> bytes:
        """Where the TTL of each record (OPT aside) lies in to_bytes(), as bytes of 16-bit offsets (for
        dns_reanswer)."""
    def to_bytes(self) -> bytes:
        """The message as wire bytes: the bytes it came as when nothing but the header changed (patched)."""
    def __bytes__(self) -> bytes: ...
    def __len__(self) -> int: ...
    def reply(self, *, rcode: int | str = 0, answers: Iterable[DnsRecord] | None = None,
              authority: Iterable[DnsRecord] | None = None, aa: bool = False) -> DnsMessage:
        """An answer to this query: same id, opcode, RD, CD and questions, QR and RA set, EDNS0 (payload 1232) when
        the query had it."""
    def dnslib(self) -> Any:
        """The message as a dnslib.DNSRecord: the full record model, for what the fields here do not cover."""


def dns_reanswer(wire: bytes | bytearray, ttl_offsets: bytes, query: DnsMessage, elapsed: int) -> bytes:
    """A stored answer given again to query: its id, RD bit and question (the asker's letter case) put in, and
    every TTL lowered by elapsed seconds (not under 0). Wire bytes in, wire bytes out: no records are read."""


def dns_truncated(wire: bytes | bytearray) -> bytes:
    """The answer cut to its header and questions with TC set: what a UDP client gets when the whole answer is over
    its payload size, so that it asks again over TCP."""


class DecodeDNS(Filter):
    """decode_dns(): each DNS message of the stream out as MessageStart(DnsMessage), MessageEnd."""

    def __init__(self, transport: str = 'auto') -> None: ...


class EncodeDNS(Filter):
    """encode_dns(): each message out as DNS wire bytes, a datagram or a length-prefixed TCP frame."""

    def __init__(self, transport: str = 'auto') -> None: ...


# -- codecs written in Python ------------------------------------------------------------------------------------

class PyDecode(Filter):
    """Feeds each Data to decoder.feed(bytes), which returns [(head, payload or None), ...]; each pair goes out as
    MessageStart(head), Data(payload), MessageEnd. A decoder that raises ends the stream with ProtocolError."""

    def __init__(self, name: str, factory: Callable[[dict[str, Any]], Any]) -> None: ...


class PyEncode(Filter):
    """Collects each message and outputs encoder.encode(head, payload bytes) as Data; Data outside a message passes
    through as it is."""

    def __init__(self, name: str, factory: Callable[[dict[str, Any]], Any], max_size: int = 0) -> None: ...


# -- shaping streams: split, pack, deframe, detect_protocol --------------------------------------------------------

MAX_SEPARATOR_SIZE: Final[int]
"""The longest separator split() takes (1 KiB)."""

PROTOCOL_NAMES: Final[tuple[str, ...]]
"""What detect_protocol tells: '', 'HTTP', 'HTTP2', 'TLS'."""

DEFAULT_DETECT_MAX_BYTES: Final[int]
"""How many first bytes detect_protocol looks at before it answers '' (8192)."""


def detect_protocol(data: bytes | bytearray | memoryview, ended: bool = False) -> str | None:
    """The protocol a stream that began with `data` (bytes) speaks: 'HTTP', 'HTTP2', 'TLS', '' (none of them), or
    None when more bytes are needed to tell (and `ended` is false)."""


class RespError(str):
    """A RESP error reply ('-ERR ...' or a RESP3 bulk error): its text."""


class RespVerbatim(str):
    """A RESP3 verbatim string: its text, and its three-letter format ('txt', 'mkd') in .format."""

    format: str

    def __new__(cls, text: str, format: str = 'txt') -> RespVerbatim: ...


class RespBigNumber(int):
    """A RESP3 big number."""


class RespSet(list[Any]):
    """A RESP3 set, in the order it came (its members may be lists, which a Python set cannot hold)."""


class RespPush(list[Any]):
    """A RESP3 push: out-of-band data (pub/sub messages, invalidations), not a reply to a command."""


class RespProtocolError(ValueError):
    """Input that breaks RESP; the text is what redis-server answers to it ('Protocol error: ...')."""


class RespLimits:
    """What one decode_resp accepts: the limits of a bulk string, an aggregate, nesting, an inline command and a
    whole message, and whether a frame not starting with a type byte is an inline command."""

    max_bulk_length: int
    max_array_length: int
    max_depth: int
    max_inline_length: int
    max_message_size: int
    inline: bool

    def __init__(self, max_bulk_length: int = ..., max_array_length: int = ..., max_depth: int = 32,
                 max_inline_length: int = ..., max_message_size: int = ..., inline: bool = True) -> None: ...


class RespParser:
    """Bytes in (feed), whole frames out as RespHeads. Input that breaks the protocol raises RespProtocolError with
    the text redis-server would answer, and the parser takes nothing more."""

    def __init__(self, limits: RespLimits | None = None) -> None: ...
    def feed(self, data: bytes) -> list[RespHead]:
        """The frames completed by data (bytes), as a list of RespHead."""
    @property
    def buffered(self) -> bool:
        """Whether a frame has begun and not ended (at the stream's end: a truncated frame)."""


class RespHead:
    """A RESP frame as a message head. head.command and head.args read a command; head.type and head.value read a
    reply; head.raw is the frame as it came. Setting command, args or value makes encode_resp write them instead."""

    def __init__(self, raw: bytes) -> None:
        """The head of one complete RESP frame given as bytes."""
    @property
    def raw(self) -> bytes:
        """The frame's wire bytes, as they came."""
    @property
    def type(self) -> str:
        """'simple', 'error', 'integer', 'bulk', 'array', 'null', 'map', 'set', 'double', 'boolean', 'big_number',
        'verbatim', 'push', or 'inline' (a telnet-style command)."""
    @property
    def changed(self) -> bool:
        """Whether a script set command, args or value."""
    @property
    def command(self) -> str | None:
        """The command's name in upper case ('GET'), or None when the frame is no command."""
    @command.setter
    def command(self, name: str) -> None: ...
    @property
    def args(self) -> list[bytes] | None:
        """The command's arguments (bytes), the name not included; None when the frame is no command. Setting it
        makes encode_resp write the command anew."""
    @args.setter
    def args(self, values: list[Any]) -> None: ...
    @property
    def key(self) -> bytes | None:
        """The command's first argument (the key of most commands), or None."""
    @property
    def value(self) -> Any:
        """The frame's value: str (simple string), RespError, int, bytes (bulk string), None (null), list (array),
        dict (map), RespSet, float (double), bool, RespBigNumber, RespVerbatim, RespPush; an inline command is the
        list of its words. Setting it makes encode_resp write the value anew."""
    @value.setter
    def value(self, v: Any) -> None: ...
    @property
    def attributes(self) -> dict[Any, Any] | None:
        """The RESP3 attributes that came before the value (a dict), or None."""
    def encode(self) -> bytes:
        """The frame's bytes: as they came, or, once changed, encoded from command and args or from value."""


def resp_encode(value: Any) -> bytes:
    """The RESP bytes of a Python value (the mapping RespHead.value reads, the other way); a RespHead gives its
    frame's bytes."""


def resp_command(name: str, *args: Any) -> RespHead:
    """The RespHead of a command built by a script: resp_command('SET', 'k', b'v')."""


class DecodeRESP(Filter):
    """decode_resp(): one message per RESP frame. Input that breaks the protocol ends the stream with ProtocolError
    after the frames before it, logs one line, and leaves what redis-server would answer for encode_resp to send."""

    def __init__(self, limits: RespLimits) -> None: ...


class EncodeRESP(Filter):
    """encode_resp(): each message as RESP bytes. A RespHead nobody changed, or no head at all, sends the message's
    body as it is; a changed RespHead is written from its command and args or its value; any other head is a value
    (RespError('ERR ...'), b'bulk', 42, [...]). A stream ended by decode_resp's ProtocolError gets redis-server's
    error reply first."""


class SplitSeparator:
    """A separator and its Knuth-Morris-Pratt table."""


class SplitFilter(Filter):
    """split(separator): each input message's body becomes a message per piece between separators; the separator
    itself is dropped. The input's MessageStart and MessageEnd go (the pieces are the messages); a StreamEnd
    passes."""

    def __init__(self, separator: _PerStream) -> None: ...


class PackOptions: ...


class PackFilter(Filter):
    """pack(batch_size=1, *, max_size, timeout, interval, prefix, separator, postfix, size_limit, vacancy): every
    batch_size messages go out as one; see pipyx/filters/pack.py."""

    def __init__(self, batch_size: int = 1, max_size: int | None = None, timeout: float | None = None,
                 interval: float | None = None, prefix: bytes | str | None = None,
                 separator: bytes | str | None = None, postfix: bytes | str | None = None,
                 size_limit: int = ..., vacancy: float = 0.5) -> None: ...


class DeframeStates: ...


class DeframeFilter(Filter):
    """deframe(states): states maps names to callbacks; the first is where each stream starts. See
    pipyx/filters/deframe.py for what a callback answers."""

    def __init__(self, states: dict[str, Any]) -> None: ...


class DetectProtocolFilter(Filter):
    """detect_protocol(callback, *, timeout=None, max_bytes=8192): calls callback('HTTP' | 'HTTP2' | 'TLS' | '')
    once the stream's first bytes tell; every event passes unchanged."""

    def __init__(self, callback: Callable[[str], _Replacement], timeout: float | None = None,
                 max_bytes: int | None = None) -> None: ...


# -- files and processes: read, tee, deposit_message, exec, produce ------------------------------------------------

DEFAULT_READ_PIECE: Final[int]
"""The most bytes a Data from read() or from deposit_message's spool holds (64 KiB)."""

DEFAULT_TEE_MAX_SIZE: Final[int]
"""The most bytes tee() writes to its file, by default (1 GiB)."""

DEFAULT_DEPOSIT_THRESHOLD: Final[int]
"""The body bytes deposit_message passes on before it spools the rest, by default (1 MiB)."""

DEFAULT_DEPOSIT_MAX_SIZE: Final[int]
"""The most body bytes deposit_message spools, by default (1 GiB)."""

DEFAULT_EXEC_BUFFER_LIMIT: Final[int]
"""The stdin bytes exec() holds while its child starts, by default (1 MiB)."""


class StreamSource(Endpoint): ...


class ReadFilter(Filter):
    """read(path, piece_size=64 KiB, seek=None, size=None): on the first input event, outputs the file's bytes as Data
    and a StreamEnd; see pipyx/filters/read.py."""

    def __init__(self, path: _PerStream, piece_size: int = ..., seek: _PerStream = None,
                 size: _PerStream = None) -> None: ...


class TeeTarget:
    """The file a tee writes, rotated by size, age and count."""


class TeeFilter(Filter):
    """tee(path, *, append=False, max_size=1 GiB): writes the stream's Data to the file; see pipyx/filters/tee.py."""

    def __init__(self, path: _PerStream, append: bool = False, max_size: int = ..., shared: bool = False,
                 max_file_size: int | None = None, max_file_count: int | None = None,
                 rotate_interval: float | None = None) -> None: ...


class DepositOptions: ...


class DepositGate(Endpoint): ...


class DepositMessageFilter(Filter):
    """deposit_message(path=None, *, threshold=1 MiB, max_size=1 GiB, keep=False, directory=None); see
    pipyx/filters/deposit_message.py."""

    def __init__(self, path: _PerStream = None, threshold: int | None = None, max_size: int | None = None,
                 keep: bool = False, directory: str | None = None) -> None: ...


class ExecOptions: ...


class ExecFilter(Endpoint):
    """exec(command, *, stderr='inherit', env=None, on_start=None, on_exit=None, buffer_limit=1 MiB, pty=False);
    see pipyx/filters/exec.py."""

    def __init__(self, command: _PerStream, stderr: str | None = None, env: _PerStream = None,
                 on_start: Callable[[int], object] | None = None, on_exit: Callable[..., _Replacement] | None = None,
                 buffer_limit: int = ..., pty: bool = False) -> None: ...
    # The subprocess protocol, called by the event loop.
    def connection_made(self, transport: asyncio.SubprocessTransport) -> None: ...
    def pipe_data_received(self, fd: int, data: bytes) -> None: ...
    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None: ...
    def connection_lost(self, exc: Exception | None) -> None: ...
    def process_exited(self) -> None: ...
    def pause_writing(self) -> None: ...
    def resume_writing(self) -> None: ...


class ProduceFilter(Filter):
    """produce(callback): outputs what callback() returns, again and again, until it returns None."""

    def __init__(self, producer: Callable[[], _Replacement]) -> None: ...


# -- WebSocket ---------------------------------------------------------------------------------------------------

class WebSocketHead:
    """The head of a WebSocket message: opcode (1 text, 2 binary, 8 close, 9 ping, 10 pong), masked (whether the
    frames were or are to be masked), and for a close message close_code and close_reason."""

    opcode: int
    masked: bool
    close_code: int | None
    close_reason: str
    def __init__(self, opcode: int = 1, masked: bool = False, close_code: int | None = None,
                 close_reason: str = '') -> None: ...


class WebSocketSink:
    """Receives what a WebSocketReader reads: a filter's (decode_websocket) or, in tests, a WebSocketLog."""


class WebSocketLog(WebSocketSink):
    """Keeps what it is given: ('message', opcode, masked, payload) and ('error', code, why)."""

    events: list[tuple[Any, ...]]
    def __init__(self) -> None: ...


# -- HTTP/2 ------------------------------------------------------------------------------------------------------

class HpackError(ValueError):
    """A header block that cannot be decoded, or a string in it over the limit: a compression error, after which the
    decoder's table is in no known state (the HTTP/2 connection must end)."""


class HpackListTooLarge(HpackError):
    """A header list over max_header_list_size. The whole block was decoded first, so the table is still in step
    and only the message it belongs to need be refused."""


class HpackDecoder:
    """Decodes header blocks (RFC 7541) into lists of (name, value) bytes pairs. The peer's dynamic table lives here
    from block to block, so blocks must be decoded in the order they came. Anything malformed or over a limit raises
    HpackError; after one, the table is in no known state and the connection must end."""

    max_header_list_size: int
    max_string: int
    def __init__(self, max_table_size: int = 4096, max_header_list_size: int = 65536,
                 max_string: int = 65536) -> None: ...
    @property
    def table_size(self) -> int: ...
    def decode(self, block: bytes) -> list[tuple[bytes, bytes]]: ...
    def set_allowed_table_size(self, n: int) -> None:
        """What our SETTINGS_HEADER_TABLE_SIZE allows the peer's encoder to use from now on."""


class HpackEncoder:
    """Encodes header lists into blocks (RFC 7541). Fields that repeat from message to message (method, scheme,
    content-type, server, ...) go into the dynamic table and cost a byte or two next time; fields whose values change
    every time (path, content-length, date, ...) are sent literally without filling the table; secrets
    (authorization, set-cookie, and any field given as (name, value, True)) are sent never-indexed. A string goes
    Huffman-coded when that is shorter."""

    max_size: int
    def __init__(self, max_table_size: int = 4096) -> None: ...
    def set_max_table_size(self, n: int) -> None:
        """The peer's SETTINGS_HEADER_TABLE_SIZE: the table shrinks (or may grow) to it, and the next block says so."""
    def encode(self, headers: Any) -> bytes:
        """headers: (name, value) or (name, value, sensitive) items, names and values bytes or str."""


class Http2FrameSink:
    """What an Http2FrameReader reports. A frame error is a connection error: the reader stops after it."""


class Http2FrameLog(Http2FrameSink):
    """Records every report as a tuple: ('data', stream, data, end_stream, flow_len), ('headers', stream, block,
    end_stream, depends_on), ('priority', stream, depends_on), ('rst_stream', stream, code), ('settings', ack,
    pairs), ('push_promise', stream, promised, block), ('ping', ack, opaque), ('goaway', last_stream, code, debug),
    ('window_update', stream, increment), ('error', code, reason)."""

    events: list[tuple[Any, ...]]
    def __init__(self) -> None: ...


# -- multipart bodies and FastCGI --------------------------------------------------------------------------------

class MultipartSink:
    """What a MultipartParser reports to: each part's head, its body in pieces, its end; or why the body is bad."""


class MultipartLog(MultipartSink):
    """A sink that keeps ('head', PartHead), ('body', bytes) (neighbouring pieces joined), ('end',) and
    ('error', reason); with MultipartParser.feed_bytes() it drives a parser from Python."""

    events: list[tuple[Any, ...]]
    def __init__(self) -> None: ...


class WebSocketReader:
    """Reads the frames of one direction of a WebSocket connection. max_message_size bounds a message (its
    fragments together; 0: no limit); require_mask 1 refuses unmasked frames (a server reading its client), 0 masked
    ones (a client reading its server), -1 takes either. A violation is reported once, with the close code the peer
    is owed, and nothing more is read."""

    def __init__(self, sink: WebSocketSink, max_message_size: int = 1048576, require_mask: int = -1) -> None: ...
    def feed_bytes(self, data: bytes) -> None:
        """Reads bytes (from Python: tests, tools)."""


def encode_websocket_frame(opcode: int, payload: bytes = b'', fin: bool = True, masked: bool = False) -> bytes:
    """One WebSocket frame as bytes (tests, tools); a masked one gets a random key."""


class WsFilterSink(WebSocketSink):
    """Turns what a WebSocketReader reads into decode_websocket's output."""


class DecodeWebSocket(Filter):
    """decode_websocket(max_message_size, masked): WebSocket frames in, one message per WebSocket message out
    (fragments joined; ping, pong and close as messages of their own). A message over max_message_size ends the
    stream after a close 1009, a protocol error (an unmasked frame when masked is True, reserved bits, ...) after a
    close 1002; the close goes down the pipeline as a message, for encode_websocket to send."""

    def __init__(self, max_message_size: int = 1048576, masked: bool | None = None) -> None: ...


class EncodeWebSocket(Filter):
    """encode_websocket(masked, fragment_size): each message becomes a WebSocket message, its head's opcode (1 text,
    2 binary, 8 close, 9 ping, 10 pong; no head: 2) and masked (or this filter's masked for every frame: a client
    masks). A close with close_code and no body gets the code and reason as its payload. A body longer than
    fragment_size goes in several frames (0: one)."""

    def __init__(self, masked: bool | None = None, fragment_size: int = 0) -> None: ...


class Http2FrameReader:
    """Reads frames from bytes split anywhere (after the connection preface) and reports them to its sink.
    max_frame_size is our SETTINGS_MAX_FRAME_SIZE: a longer frame is a FRAME_SIZE_ERROR. A header block over
    max_header_block bytes, or split over more than max_continuations CONTINUATION frames, is refused with
    ENHANCE_YOUR_CALM (a CONTINUATION flood)."""

    max_frame_size: int
    max_header_block: int
    max_continuations: int
    dead: bool
    def __init__(self, sink: Http2FrameSink, max_frame_size: int = 16384, max_header_block: int = 65536,
                 max_continuations: int = 64) -> None: ...
    def feed(self, b: bytes) -> int: ...


class Http2Frames:
    """The frame writers, for tests and tools: each returns a frame (or a header block's frames) as bytes."""

    @staticmethod
    def data(stream: int, payload: bytes, end_stream: bool = False) -> bytes: ...
    @staticmethod
    def headers(stream: int, block: bytes, end_stream: bool = False, max_frame_size: int = 16384) -> bytes: ...
    @staticmethod
    def priority(stream: int, depends_on: int, weight: int = 16, exclusive: bool = False) -> bytes: ...
    @staticmethod
    def rst_stream(stream: int, code: int) -> bytes: ...
    @staticmethod
    def settings(pairs: Any = (), ack: bool = False) -> bytes: ...
    @staticmethod
    def push_promise(stream: int, promised: int, block: bytes) -> bytes: ...
    @staticmethod
    def ping(opaque: bytes, ack: bool = False) -> bytes: ...
    @staticmethod
    def goaway(last_stream: int, code: int, debug: bytes = b'') -> bytes: ...
    @staticmethod
    def window_update(stream: int, increment: int) -> bytes: ...


class Http2Options:
    """The HTTP/2 side of serve_http and demux_http (serve_http(..., http2={...})): enabled (True: a connection that
    starts with the HTTP/2 preface speaks HTTP/2), max_concurrent_streams (100: more are refused with
    REFUSED_STREAM), initial_window_size (65535: what a stream may send before the script has taken it in),
    connection_window_size (1 MiB: the same for all streams together), max_frame_size (16384),
    max_header_list_size (65536: a request over it is answered 431), header_table_size (4096: the HPACK table the
    client may use), max_continuations (64: a header block in more CONTINUATION frames ends the connection with
    ENHANCE_YOUR_CALM), max_resets and reset_interval (200 streams reset by the client within 1 s end the connection
    with ENHANCE_YOUR_CALM), max_pending (65536: response bytes a stream holds for a client that gives no window
    before what produces them is paused)."""

    enabled: bool
    max_concurrent_streams: int
    initial_window_size: int
    connection_window_size: int
    max_frame_size: int
    max_header_list_size: int
    header_table_size: int
    max_continuations: int
    max_resets: int
    reset_interval: float
    max_pending: int
    def __init__(self, enabled: bool = True, max_concurrent_streams: int = 100, initial_window_size: int = 65535,
                 connection_window_size: int = 1048576, max_frame_size: int = 16384,
                 max_header_list_size: int = 65536, header_table_size: int = 4096, max_continuations: int = 64,
                 max_resets: int = 200, reset_interval: float = 1.0, max_pending: int = 65536) -> None: ...


class Http2StreamGate(Endpoint):
    """A stream's part in flow control (docs/design.md): congested while its response waits for the client's window;
    paused, by withholding credit, while what it delivered is congested."""


class Http2Stream(ResponseSlot):
    """One request of an HTTP/2 connection, and the encoder of its response into frames."""


class Http2ServerConn(Http2FrameSink):
    """The server side of one HTTP/2 connection: frames in, requests to its server filter; responses to frames."""


class PartHead:
    """The head of one part of a multipart body: headers (by lower-case name), and from its Content-Disposition
    and Content-Type: name, filename (None when the part is not a file) and content_type."""

    headers: Headers
    def __init__(self, headers: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None) -> None: ...
    @property
    def name(self) -> str | None: ...
    @property
    def filename(self) -> str | None: ...
    @property
    def content_type(self) -> str | None: ...
    def __getitem__(self, key: str) -> Any: ...


class MultipartParser:
    """MultipartParser(sink, boundary, max_header_size=16384): feed it a multipart body in pieces; it reports each
    part's head, body and end to the sink, or an error (a header block over max_header_size, a part header line
    without a colon, a body that ends before its close delimiter)."""

    state: int
    max_header_size: int
    error: str | None
    def __init__(self, sink: MultipartSink, boundary: str | bytes, max_header_size: int = 16384) -> None: ...
    def feed_bytes(self, data: bytes | bytearray | memoryview) -> None:
        """Feeds bytes (for tests and tools)."""
    def feed_eof(self) -> None:
        """The body has ended."""


class MultipartParts(MultipartSink):
    """Gives a parser's parts to decode_multipart's output; a part that is itself multipart (multipart/mixed inside
    a form) is split in turn, up to MAX_MULTIPART_DEPTH deep, and its parts go out in its place."""


class DecodeMultipart(Filter):
    """decode_multipart(max_header_size=16384): outputs each part of a multipart/* message as a message of its own;
    other messages pass."""

    def __init__(self, max_header_size: int = 16384) -> None: ...


class FastCgiRecordReader:
    """Splits a stream of FastCGI records. feed() the bytes as they come; next_record() then returns each complete
    record's type (its request_id and content in the fields of those names), or -1 when it needs more bytes. A
    header with a version other than 1 raises ValueError: the stream is not FastCGI. At most one record (64 KiB
    and its padding) is held."""

    record_type: int
    request_id: int
    content: bytes | None
    def __init__(self) -> None: ...
    def feed_bytes(self, data: bytes | bytearray | memoryview) -> list[tuple[int, int, bytes]]:
        """For tests and tools: feeds bytes, returns the complete records as (type, request_id, content)."""
    def feed_eof(self) -> None:
        """The stream has ended: a record cut short raises ValueError."""


def encode_fastcgi_record(rtype: int, request_id: int, content: bytes = b'') -> bytes:
    """The bytes of FastCGI records of type rtype carrying content (split into records of up to 65528 bytes; empty
    content: the one empty record that ends a stream)."""


def encode_fastcgi_params(pairs: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> bytes:
    """Name-value pairs (a dict or (name, value) pairs) as the bytes of a PARAMS stream."""


def decode_fastcgi_params(content: bytes) -> list[tuple[str, str]]:
    """The bytes of a whole PARAMS stream as [(name, value)]; ValueError when a length runs past its end."""


def decode_cgi_head(block: bytes) -> tuple[int, str | None, Headers]:
    """A CGI response header block (without its empty line) as (status, reason or None, headers)."""


class FastCgiClientOptions:
    """mux_fastcgi's options (see pipyx/filters/fastcgi.py)."""

    root: str | None
    script_filename: str | None
    index: str | None
    params: dict[str, Any] | Callable[[Any], dict[str, Any]] | None
    max_idle: float
    max_messages: int
    max_header_size: int
    buffer_body: int
    max_connections: int
    def __init__(self, root: str | None = None, script_filename: str | None = None, index: str | None = 'index.php',
                 params: dict[str, Any] | Callable[[Any], dict[str, Any]] | None = None, max_idle: float = 60.0,
                 max_messages: int = 0, max_header_size: int = 16384, buffer_body: int = 1048576,
                 max_connections: int = 5) -> None: ...


class FastCgiPool:
    """The connections of one session key: at most max_connections open, the most recently used idle one taken
    first, the requests beyond them waiting in turn. (A php-fpm worker serves one connection until it closes: more
    kept-open connections than workers would leave requests waiting on connections no worker reads.)"""


class MuxFastCgiShared:
    """What every instance of one mux_fastcgi filter shares: its options and its pools."""


class FastCgiSession(EventTarget):
    """One connection to the application: its records in, the request it serves."""


class MuxFastCGI(Filter):
    """mux_fastcgi(...): sends each request message to a FastCGI application over a pooled connection (the
    sub-pipeline from .to(...)) and outputs its response."""

    def __init__(self, target: LayoutRef, session_key: _PerStream = None,
                 opts: FastCgiClientOptions | None = None) -> None: ...


class FastCgiRequestHead(RequestHead):
    """A FastCGI request as an HTTP request head (method, path, headers), with params: every name-value pair it came
    with; role (1: responder) and keep_conn (the client keeps the connection open)."""

    params: dict[str, str]
    role: int
    keep_conn: bool


class FastCgiServerRequest(EventTarget):
    """One request of a demux_fastcgi connection; its sub-pipeline's output goes back as STDOUT and END_REQUEST."""


class DemuxFastCGI(Filter):
    """demux_fastcgi(max_params_size=65536): each FastCGI request on the stream becomes a message to its own
    sub-pipeline; the message it outputs goes back as the response."""

    def __init__(self, target: LayoutRef, max_params_size: int = 65536) -> None: ...
