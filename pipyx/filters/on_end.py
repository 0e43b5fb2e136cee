"""on_end: a callback when the pipeline is done."""
from .._native import OnEndFilter
from ..builder import PipelineBuilder
from ..errors import ScriptError, caller_location
from ._arity import takes_no_arguments


class OnEndMixin(PipelineBuilder):
    def on_end(self, callback):
        """Runs callback once when the pipeline is shut down, whatever the reason: its stream ended and its owner
        let go of it (the connection closed, the request was answered, the parent stream went away), an error
        ended it, or the client reset the connection. The events pass on unchanged. A callback of one argument
        gets the error of the StreamEnd that came into the pipeline (None for a clean end, or when none came:
        'ConnectionReset' when the client reset); one of none is called without it. It runs with the stream's
        ctx; what it returns is ignored, but an awaitable is run (its errors logged). An error in the callback is
        logged with its line and changes nothing else. Put it first in its pipeline, as Pipy does: there it also
        passes on the listener's questions (drain, idleness) to the filter after it."""
        if not callable(callback):
            raise ScriptError('on_end(): callback is a function', *caller_location())
        return self.append(OnEndFilter(callback, not takes_no_arguments(callback)))
