"""pipyx: a programmable, scriptable proxy engine for Python, in the spirit of Pipy.

    from pipyx import pipy, Message
    pipy().listen(8080).serve_http(Message('Hi, there!\\n'))
"""
from .__version__ import VERSION as __version__
from ._native import (Data, Event, MessageStart, MessageEnd, StreamEnd, Message, RequestHead, ResponseHead, Headers,
                      HttpLimits, Hub, ctx, socks_target, http_tunnel_target, WebSocketHead)
from .config import pipy, Configuration
from .filters.websocket import websocket_handshake, websocket_accept_key
from .errors import ScriptError
from . import algo
from .runtime import argv, worker_index, load, restart, exit, inbound, outbound
from .agent import Agent, RequestError

__all__ = ['pipy', 'Message', 'Data', 'Event', 'MessageStart', 'MessageEnd', 'StreamEnd', 'RequestHead',
           'ResponseHead', 'Headers', 'HttpLimits', 'Hub', 'ctx', 'socks_target', 'http_tunnel_target',
           'websocket_handshake', 'websocket_accept_key', 'WebSocketHead', 'algo', 'Configuration',
           'ScriptError', 'Agent', 'RequestError']
