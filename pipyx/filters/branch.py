"""branch: choose a sub-pipeline by condition when the stream starts."""
from .._native import BranchFilter
from ..builder import PipelineBuilder
from ..errors import ScriptError, caller_location


class BranchMixin(PipelineBuilder):
    def branch(self, *args):
        """branch(cond1, pipeline1, cond2, pipeline2, ..., [default]): on the stream's first event, the stream goes
        through the pipeline of the first condition that holds (a condition is a callable taking no arguments, or a
        plain value); when none holds, through the default. A pipeline is a name, a function building one, or None
        to pass the stream straight on."""
        if not args:
            raise ScriptError('branch() needs at least a condition and a pipeline', *caller_location())
        pairs, default = (args, None) if len(args) % 2 == 0 else (args[:-1], args[-1])
        conditions = list(pairs[0::2])
        targets = [None if t is None else self.sub(t) for t in pairs[1::2]]
        return self.append(BranchFilter(conditions, targets, None if default is None else self.sub(default)))
