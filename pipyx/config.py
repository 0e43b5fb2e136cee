"""Building pipeline layouts from a script: pipy(), listen(), pipeline(), .to(), and module import/export.

A script calls pipy(**context_variables) and chains filter methods on what it returns. Every filter method appends
one filter prototype to the layout being built and returns the same Configuration, so a whole pipeline reads as one
expression. The filter methods themselves live in pipyx/filters/, one module per filter or family.
"""
import os

from ._native import LayoutRef, ModuleScope, PipelineLayout
from .address import format_address, parse_address
from .errors import ScriptError, caller_location


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


class Configuration:
    """The builder a script chains filter methods on. Each method appends a filter to the current pipeline layout
    (the one the last listen(), pipeline() or sub-pipeline started) and returns the builder."""

    def __init__(self, module, layout):
        self._module = module
        self._layout = layout
        self._open_ref = None        # the sub-pipeline the last filter still waits for, set by .to()

    # -- layouts ---------------------------------------------------------------------------------------------------

    def listen(self, port, **options):
        """Starts the layout for a listening port: port is an int, 'addr:port' or '[v6addr]:port'. Options:
        idle_timeout (seconds without traffic either way before a connection is reset, default 60; 0 for none),
        backlog (1024), reuse_port (set by --workers), ssl (an ssl.SSLContext: serve TLS on the port)."""
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
            target(Configuration(self._module, layout))
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


def filter_method(fn):
    """Makes fn a method of Configuration: how each module in pipyx/filters adds its filter."""
    setattr(Configuration, fn.__name__, fn)
    return fn
