"""repeat: run the stream through a sub-pipeline again while a condition holds."""
from .._native import DEFAULT_BUFFER_LIMIT, RepeatFilter
from ..builder import PipelineBuilder
from ..errors import ScriptError, caller_location


class RepeatMixin(PipelineBuilder):
    def repeat(self, condition, target=None, *, buffer_limit=DEFAULT_BUFFER_LIMIT):
        """Sends the stream through a sub-pipeline (target, or built by the following .to()), recording it. When the
        sub-pipeline ends, condition(StreamEnd) decides: true runs the recorded stream (and what follows it)
        through a new instance of the sub-pipeline, whose output goes on from here; false lets the StreamEnd go on.
        The condition may return an awaitable. At most buffer_limit bytes (default 1 MiB) of input are recorded:
        past that the stream still goes through, but running it again ends it with BufferOverflow."""
        if not callable(condition):
            raise ScriptError('repeat() needs a callable condition', *caller_location())
        return self.append(RepeatFilter(self.sub(target), condition, int(buffer_limit)))
