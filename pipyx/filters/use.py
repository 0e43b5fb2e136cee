"""use and chain: pipelines made of plugins in other script files."""
import os

from .._native import UseFilter, ChainFilter, LayoutRef
from ..builder import PipelineBuilder
from ..errors import ScriptError, caller_location


class UseMixin(PipelineBuilder):
    def use(self, modules, name):
        """Runs the stream through the pipeline called name in each of modules (script files, relative to this one),
        in order: each module's chain() hands the stream to the next; after the last, it goes on from here. A module
        is loaded once, however many scripts use it."""
        from ..loader import load_module
        if isinstance(modules, str):
            modules = [modules]
        here = os.path.dirname(self._module.filename)
        refs = []
        for m in modules:
            path = os.path.abspath(os.path.join(here, m))
            if os.path.isdir(path):
                path = os.path.join(path, 'main.py')
            if not os.path.exists(path):
                raise ScriptError("use(): no module file '%s'" % m, *caller_location())
            load_module(self._module.program, path)
            refs.append(LayoutRef((path, name)))
        return self.append(UseFilter(refs))

    def chain(self):
        """In a module run by use(): continue with the same-named pipeline of the next module in the list."""
        return self.append(ChainFilter())
