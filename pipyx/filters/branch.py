"""branch and its message-wise kin: choose a sub-pipeline by condition when the stream (or its first message)
starts."""
from .._native import DEFAULT_MESSAGE_SIZE_LIMIT, BranchFilter
from ..builder import PipelineBuilder
from ..errors import ScriptError, caller_location

_STREAM, _MESSAGE_START, _MESSAGE = 0, 1, 2


class BranchMixin(PipelineBuilder):
    def branch(self, *args):
        """branch(cond1, pipeline1, cond2, pipeline2, ..., [default]): on the stream's first event, the stream goes
        through the pipeline of the first condition that holds (a condition is a callable taking no arguments, or a
        plain value); when none holds, through the default. A pipeline is a name, a function building one, or None
        to pass the stream straight on."""
        return self._branch('branch', args, _STREAM, None)

    def branch_message_start(self, *args):
        """branch_message_start(cond1, pipeline1, ..., [default]): as branch, but the choice is made at the stream's
        first MessageStart, which each callable condition is given (cond(MessageStart)); events before it wait for
        the choice. Once chosen, the pipeline takes the whole rest of the stream. A stream that ends before any
        message goes straight on."""
        return self._branch('branch_message_start', args, _MESSAGE_START, None)

    def branch_message(self, *args, size_limit=DEFAULT_MESSAGE_SIZE_LIMIT):
        """branch_message(cond1, pipeline1, ..., [default], size_limit=16 MiB): as branch, but the choice is made
        once the stream's first whole message is in, which each callable condition is given (cond(Message)); the
        message's events wait for the choice, up to size_limit bytes of body (more ends the stream with
        BufferOverflow). Once chosen, the pipeline takes the whole rest of the stream."""
        return self._branch('branch_message', args, _MESSAGE, int(size_limit))

    def _branch(self, name, args, mode, size_limit):
        if not args:
            raise ScriptError('%s() needs at least a condition and a pipeline' % name, *caller_location())
        pairs, default = (args, None) if len(args) % 2 == 0 else (args[:-1], args[-1])
        conditions = list(pairs[0::2])
        targets = [None if t is None else self.sub(t) for t in pairs[1::2]]
        default = None if default is None else self.sub(default)
        if size_limit is None:
            return self.append(BranchFilter(conditions, targets, default, mode))
        return self.append(BranchFilter(conditions, targets, default, mode, size_limit))
