"""The core of the builder a script chains: where layouts start (listen, pipeline; task, watch and exit, which
pipyx/tasks.py runs), how a filter gets its sub-pipeline (to), and module exports and imports.

Every filter method lives in its own module under pipyx/filters/, in a mixin class that extends PipelineBuilder and
adds its filter with self.append() (and self.sub() for a sub-pipeline); pipyx.config.Configuration combines them all.
"""
import os

from ._native import LayoutRef
from .address import format_address, parse_address
from .errors import ScriptError, caller_location
from .tasks import parse_when


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
        line.

        As Pipy's listen: max_connections (at that many open connections, accepting pauses until one closes; 0 for
        no limit), read_timeout (the longest wait for a byte from the client; 0, the default, for none), write_timeout
        (the longest bytes may wait to be sent without any going out; 0 for none), keep_alive (SO_KEEPALIVE, default
        True), no_delay (TCP_NODELAY, default True), congestion_limit (bytes waiting to be sent above which whoever
        feeds the connection is paused; default the event loop's 64 KiB), buffer_limit (bytes waiting to be sent
        above which the connection is dropped; 0, the default, for no limit), transparent (ctx.inbound gets the
        destination_address and destination_port a NAT-redirected or TPROXY'd connection was meant for).

        splice (default False, experimental): a connection whose pipeline only relays its bytes (connect() alone, or
        behind accept_proxy_protocol / connect_proxy_protocol) is joined to its upstream in the kernel with splice(2)
        once connected, unless a read_timeout or write_timeout asks for the normal path."""
        if options.get('protocol', 'tcp') not in ('tcp', 'udp'):
            raise ScriptError("listen(): protocol is 'tcp' or 'udp', not %r" % (options['protocol'],),
                              *caller_location())
        try:
            address, port = parse_address(port)
        except ValueError as e:
            raise ScriptError('listen(): %s' % e, *caller_location()) from None
        for name in ('idle_timeout', 'linger_time', 'linger_timeout', 'read_timeout', 'write_timeout',
                     'max_connections', 'congestion_limit', 'buffer_limit', 'backlog'):
            value = options.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
                raise ScriptError('listen(): %s must be a number, 0 or more, not %r' % (name, value),
                                  *caller_location())
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

    def task(self, when=None):
        """Starts the layout of a job run with no connection: once at start (no argument), every interval (a number
        of seconds, or '5s', '100ms', '2m', '1h': the first run at start), or each time the process gets a signal
        ('SIGUSR1', 'SIGUSR2', 'SIGALRM', ...). The pipeline's input is a StreamEnd(); the job is over when the
        pipeline outputs a StreamEnd, and a run does not start while the previous one is going. With --workers N,
        each worker runs its own tasks (pipyx.worker_index tells them apart)."""
        try:
            kind, arg = parse_when(when)
        except ValueError as e:
            raise ScriptError('task(): %s' % e, *caller_location()) from None
        name = 'task' if kind == 'once' else 'task %s' % (when if isinstance(when, str) else '%gs' % arg)
        return self._job_layout(name, (kind, arg))

    def watch(self, path):
        """Starts the layout of a job run each time the file at path (relative to the codebase: the script's
        directory) changes, is made or is removed; for a directory, any file under it. It is checked every 0.5 s. Its
        input and end are a task's."""
        if not isinstance(path, str) or not path:
            raise ScriptError('watch(): a file name, not %r' % (path,), *caller_location())
        return self._job_layout('watch %s' % path, ('watch', path))

    def exit(self):
        """Starts the layout of a job run once when the process stops (SIGTERM, SIGINT, pipyx.exit()), while the
        ports are still open: the process waits for every exit() pipeline to output a StreamEnd, up to
        --drain-timeout, before it closes them."""
        return self._job_layout('exit', ('exit', None))

    def _job_layout(self, name, when):
        layout = self._module.new_layout(name, caller_location())
        self._module.jobs.append((when, layout))
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
