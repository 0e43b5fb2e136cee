"""What loading a script builds: a Program of Modules, each with its layouts, listeners and context variables; and
the Program being loaded now, which pipy() adds the calling script's module to."""
import os

from ._native import ModuleScope, PipelineLayout
from .errors import ScriptError


class Module:
    """Everything one script file configures: its listeners, named pipelines, context variables."""

    def __init__(self, program, filename):
        self.program = program
        self.filename = filename
        self.scope = ModuleScope(filename)
        self.listens = []            # (address, port, layout)
        self.jobs = []               # ((kind, argument), layout) of task(), watch() and exit(): pipyx/tasks.py
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
        self.hubs = {}               # swap()'s hubs by name
        self.files = set()           # files filters read while loading (TLS certificates, keys, CAs): --watch's too

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

    @property
    def jobs(self):
        return [j for m in self.modules.values() for j in m.jobs]

    @property
    def root(self):
        """The codebase's directory: the entry script's, or the current directory for -e and tests."""
        if self.entry and not self.entry.startswith('<'):
            return os.path.dirname(self.entry)
        return os.getcwd()

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
