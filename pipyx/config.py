"""What a script configures: pipy() and Configuration, the builder it chains (what loading builds: program.py).

A script calls pipy(**context_variables) and chains filter methods on what it returns. Every filter method appends
one filter prototype to the layout being built and returns the same Configuration, so a whole pipeline reads as one
expression. The builder's core is pipyx.builder.PipelineBuilder; each filter's method lives in pipyx/filters/, one
module per filter or family, and Configuration below lists them all.
"""
from .errors import ScriptError, caller_location  # noqa: F401  (ScriptError: pipyx.config.ScriptError, as before)
from .filters.branch import BranchMixin
from .filters.compress import CompressMixin
from .filters.connect import ConnectMixin
from .filters.debug import DebugMixin
from .filters.decode_multipart import DecodeMultipartMixin
from .filters.demux import DemuxMixin
from .filters.deframe import DeframeMixin
from .filters.demux_http import DemuxHttpMixin
from .filters.deposit_message import DepositMessageMixin
from .filters.detect_protocol import DetectProtocolMixin
from .filters.exec import ExecMixin
from .filters.fastcgi import FastCgiMixin
from .filters.dns_codec import DnsCodecMixin
from .filters.dummy import DummyMixin
from .filters.fork import ForkMixin
from .filters.handle import HandleMixin
from .filters.http_codec import HttpCodecMixin
from .filters.http_tunnel import HttpTunnelMixin
from .filters.insert import InsertMixin
from .filters.link import LinkMixin
from .filters.loop import LoopMixin
from .filters.mqtt_codec import MqttCodecMixin
from .filters.mux import MuxMixin
from .filters.mux_http import MuxHttpMixin
from .filters.pack import PackMixin
from .filters.produce import ProduceMixin
from .filters.proxy_cache import ProxyCacheMixin
from .filters.read import ReadMixin
from .filters.on_start import OnStartMixin
from .filters.on_end import OnEndMixin
from .filters.pipe import PipeMixin
from .filters.proxy_cache import ProxyCacheMixin
from .filters.repeat import RepeatMixin
from .filters.proxy_protocol import ProxyProtocolMixin
from .filters.replace import ReplaceMixin
from .filters.resp_codec import RespCodecMixin
from .filters.replay import ReplayMixin
from .filters.serve_files import ServeFilesMixin
from .filters.serve_http import ServeHttpMixin
from .filters.split import SplitMixin
from .filters.tee import TeeMixin
from .filters.swap import SwapMixin
from .filters.socks import SocksMixin
from .filters.throttle import ThrottleMixin
from .filters.tls import TlsMixin
from .filters.tunnel import TunnelMixin
from .filters.use import UseMixin
from .filters.wait import WaitMixin
from .filters.websocket import WebSocketMixin
from .program import Program, current_program, set_program  # noqa: F401  (Program: for tools building one)


class Configuration(
        # HTTP. A filter made of others comes before them (Python's method order wants a class before its bases).
        ServeFilesMixin, ProxyCacheMixin, ServeHttpMixin, DemuxHttpMixin, MuxHttpMixin, HttpCodecMixin,
        HttpTunnelMixin, WebSocketMixin, CompressMixin, DecodeMultipartMixin, FastCgiMixin,
        # Connections and tunnels
        ConnectMixin, TunnelMixin, SocksMixin, ProxyProtocolMixin, TlsMixin,
        # Other protocols, and pacing
        MqttCodecMixin, RespCodecMixin, DnsCodecMixin, ThrottleMixin,
        # Messages of any protocol: one sub-pipeline each, shared sessions
        DemuxMixin, MuxMixin,
        # Shaping streams: cutting, joining, parsing, detecting
        SplitMixin, PackMixin, DeframeMixin, DetectProtocolMixin,
        # Files and processes
        ReadMixin, TeeMixin, DepositMessageMixin, ExecMixin, ProduceMixin,
        # Where a stream goes
        LinkMixin, BranchMixin, PipeMixin, ForkMixin, UseMixin, WaitMixin, LoopMixin, RepeatMixin, ReplayMixin,
        SwapMixin,
        # Callbacks and debugging
        OnStartMixin, OnEndMixin, InsertMixin, HandleMixin, ReplaceMixin, DummyMixin, DebugMixin):
    """The builder a script chains filter methods on. Each method appends a filter to the current pipeline layout
    (the one the last listen(), pipeline() or sub-pipeline started) and returns the builder.

    listen(), pipeline(), task(), watch(), exit(), to(), export() and import_() come from
    pipyx.builder.PipelineBuilder; every other method adds a filter and is documented in its module under
    pipyx/filters/."""


def pipy(**context_variables):
    """Starts configuring the calling script. Keyword arguments declare its context variables and their initial
    values: each stream gets its own copy (lists, dicts and sets are copied per stream), read and written in
    callbacks as attributes of `ctx`."""
    program = current_program()
    if program is None:
        program = Program(None)
        set_program(program)
    location = caller_location()
    module = program.module_for(location[0] if location else '<script>')
    module.scope.declare(context_variables)
    return Configuration(module, None)
