"""What a script configures: pipy(), the Program and Modules it builds, and Configuration, the builder it chains.

A script calls pipy(**context_variables) and chains filter methods on what it returns. Every filter method appends
one filter prototype to the layout being built and returns the same Configuration, so a whole pipeline reads as one
expression. The builder's core is pipyx.builder.PipelineBuilder; each filter's method lives in pipyx/filters/, one
module per filter or family, and Configuration below lists them all.
"""
import os

from ._native import ModuleScope, PipelineLayout
from .errors import ScriptError, caller_location
from .filters.branch import BranchMixin
from .filters.connect import ConnectMixin
from .filters.debug import DebugMixin
from .filters.demux_http import DemuxHttpMixin
from .filters.fork import ForkMixin
from .filters.handle import HandleMixin
from .filters.http_codec import HttpCodecMixin
from .filters.link import LinkMixin
from .filters.mqtt_codec import MqttCodecMixin
from .filters.mux_http import MuxHttpMixin
from .filters.proxy_cache import ProxyCacheMixin
from .filters.replace import ReplaceMixin
from .filters.serve_files import ServeFilesMixin
from .filters.serve_http import ServeHttpMixin
from .filters.throttle import ThrottleMixin
from .filters.tunnel import TunnelMixin
from .filters.use import UseMixin
from .filters.wait import WaitMixin


class Configuration(
        # HTTP. A filter made of others comes before them (Python's method order wants a class before its bases).
        ServeFilesMixin, ProxyCacheMixin, ServeHttpMixin, DemuxHttpMixin, MuxHttpMixin, HttpCodecMixin,
        # Connections and tunnels
        ConnectMixin, TunnelMixin,
        # Other protocols, and pacing
        MqttCodecMixin, ThrottleMixin,
        # Where a stream goes
        LinkMixin, BranchMixin, ForkMixin, UseMixin, WaitMixin,
        # Callbacks and debugging
        HandleMixin, ReplaceMixin, DebugMixin):
    """The builder a script chains filter methods on. Each method appends a filter to the current pipeline layout
    (the one the last listen(), pipeline() or sub-pipeline started) and returns the builder.

    listen(), pipeline(), to(), export() and import_() come from pipyx.builder.PipelineBuilder; every other method
    adds a filter and is documented in its module under pipyx/filters/."""


class Module:
    """Everything one script file configures: its listeners, named pipelines, context variables."""

    def __init__(self, program, filename):
        self.program = program
        self.filename = filename
        self.scope = ModuleScope(filename)
        self.listens = []            # (address, port, layout)
        self.named = {}              # name -> PipelineLayout
        self.layouts = []            # every layout, named or not, for resolving references
        self.exports = {}            # namespace -> names

    def new_layout(self, name, location):
        layout = PipelineLayout(name, self.scope, location)
        self.layouts.append(layout)
        return layout


class Program:
    """All modules loaded for one run of a script (and everything it use()s)."""

    def __init__(self, entry):
        self.entry = entry
        self.modules = {}            # absolute filename -> Module
        self.loading = []            # stack of filenames being executed
        self.namespaces = {}         # export namespace -> Module

    def module_for(self, filename):
        if not filename.startswith('<'):
            filename = os.path.abspath(filename)
        m = self.modules.get(filename)
        if m is None:
            m = self.modules[filename] = Module(self, filename)
        return m

    @property
    def listens(self):
        return [l for m in self.modules.values() for l in m.listens]

    def resolve(self):
        """Binds every named reference to its layout, and every import to its export; reports what is missing."""
        for m in self.modules.values():
            for name, owner_ns in list(m.scope.imports.items()):
                if isinstance(owner_ns, str):
                    owner = self.namespaces.get(owner_ns)
                    if owner is None or name not in owner.exports.get(owner_ns, ()):
                        raise ScriptError("import of '%s' from namespace '%s': nothing exports it" % (name, owner_ns),
                                          m.filename)
                    m.scope.imports[name] = owner.scope
            for layout in m.layouts:
                for f in layout.filters:
                    for ref in f.sub_layouts():
                        if ref.layout is not None:
                            continue
                        target = ref.name
                        if target is None:
                            raise ScriptError('%s has no sub-pipeline: give it one with .to(...)' % f.describe(),
                                              *(f.location or (m.filename, None)))
                        module = m
                        if isinstance(target, tuple):          # (filename, name) from use()
                            module = self.modules.get(target[0])
                            target = target[1]
                        found = module.named.get(target) if module is not None else None
                        if found is None:
                            loc = f.location or (m.filename, None)
                            raise ScriptError("no pipeline named '%s'%s" % (
                                target, '' if module is m else ' in %s' % module.filename), *loc)
                        ref.layout = found


_program = None


def current_program():
    return _program


def set_program(p):
    global _program
    _program = p


def pipy(**context_variables):
    """Starts configuring the calling script. Keyword arguments declare its context variables and their initial
    values: each stream gets its own copy (lists, dicts and sets are copied per stream), read and written in
    callbacks as attributes of `ctx`."""
    if _program is None:
        set_program(Program(None))
    location = caller_location()
    module = _program.module_for(location[0] if location else '<script>')
    module.scope.declare(context_variables)
    return Configuration(module, None)
