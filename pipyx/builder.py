"""The core of the builder a script chains: where layouts start (listen, pipeline), how a filter gets its
sub-pipeline (to), and module exports and imports.

Every filter method lives in its own module under pipyx/filters/, in a mixin class that extends PipelineBuilder and
adds its filter with self.append() (and self.sub() for a sub-pipeline); pipyx.config.Configuration combines them all.
"""
import os

from ._native import LayoutRef
from .address import format_address, parse_address
from .errors import ScriptError, caller_location


class PipelineBuilder:
    """Builds the pipeline layouts of one script module. Each method appends to the current layout (the one the
    last listen(), pipeline() or sub-pipeline started) and returns the builder, so a whole pipeline reads as one
    expression."""

    def __init__(self, module, layout):
        self._module = module
        self._layout = layout
        self._open_ref = None        # the sub-pipeline the last filter still waits for, set by .to()

    # -- layouts ---------------------------------------------------------------------------------------------------

    def listen(self, port, **options):
        """Starts the layout for a listening port: port is an int, 'addr:port' or '[v6addr]:port'. Options:
        idle_timeout (seconds without traffic either way before a connection is reset, default 60, not while an
        HTTP server is answering a request; 0 for none), linger_time (30) and linger_timeout (5): how long, and with
        how long a pause, what a client still sends is read and dropped after pipyx ended the connection, so that the
        answer reaches a client still sending; backlog (1024), reuse_port (set by --workers), ssl (an ssl.SSLContext:
        serve TLS on the port). protocol='udp' (default 'tcp'): each peer address is a stream of datagram
        messages, ended after idle_timeout without a datagram either way; max_peers (10000, at most half the
        descriptor limit) caps the streams at once, datagrams from further new peers being dropped with a log
        line."""
        if options.get('protocol', 'tcp') not in ('tcp', 'udp'):
            raise ScriptError("listen(): protocol is 'tcp' or 'udp', not %r" % (options['protocol'],),
                              *caller_location())
        try:
            address, port = parse_address(port)
        except ValueError as e:
            raise ScriptError('listen(): %s' % e, *caller_location()) from None
        loc = caller_location()
        layout = self._module.new_layout('listen %s' % format_address(address, port), loc)
        layout.listen_options = dict(options)
        self._module.listens.append((address, port, layout))
        self._layout = layout
        self._open_ref = None
        return self

    def pipeline(self, name):
        """Starts a named layout that link(), demux_http().to(name) and the like can refer to."""
        if name in self._module.named:
            raise ScriptError("pipeline '%s' is defined twice" % name, *caller_location())
        layout = self._module.new_layout(name, caller_location())
        self._module.named[name] = layout
        self._layout = layout
        self._open_ref = None
        return self

    def to(self, target):
        """Gives the last filter its sub-pipeline: the name of a pipeline, or a function that builds one from the
        builder it is given, as in `.demux_http().to(lambda p: p.serve_http(...))`."""
        ref = self._open_ref
        if ref is None:
            raise ScriptError('to() follows a filter that takes a sub-pipeline (demux_http, mux_http, link, ...)',
                              *caller_location())
        self._open_ref = None
        self._bind(ref, target)
        return self

    def _bind(self, ref, target):
        if isinstance(target, str):
            ref.name = target
        elif callable(target):
            loc = caller_location()
            layout = self._module.new_layout('%s:%s' % (os.path.basename(loc[0]), loc[1]) if loc else 'inline', loc)
            # The function builds with every filter method this builder has.
            target(type(self)(self._module, layout))
            ref.layout = layout
            ref.name = layout.name
        else:
            raise ScriptError('a sub-pipeline is a pipeline name or a function building one, not %s'
                              % type(target).__name__, *caller_location())

    def sub(self, target=None):
        """A LayoutRef for a filter's sub-pipeline: bound now if target is given, else by the next .to()."""
        ref = LayoutRef(None)
        if target is not None:
            self._bind(ref, target)
        else:
            self._open_ref = ref
        return ref

    def append(self, f):
        """Appends a filter prototype (a pipyx._native.Filter) to the current layout."""
        if self._layout is None:
            raise ScriptError('%s() needs a pipeline first: call listen() or pipeline() before it' % f.describe(),
                              *caller_location())
        f.location = caller_location()
        self._layout.append(f)
        return self

    # -- modules ---------------------------------------------------------------------------------------------------

    def export(self, namespace, **variables):
        """Declares context variables that other modules can import from `namespace`."""
        self._module.scope.declare(variables)
        self._module.exports.setdefault(namespace, set()).update(variables)
        self._module.program.namespaces[namespace] = self._module
        return self

    def import_(self, **names):
        """Makes context variables exported by other modules readable and writable here:
        import_(target='proxy') imports 'target' from namespace 'proxy'."""
        for name, namespace in names.items():
            self._module.scope.imports[name] = namespace
        return self
