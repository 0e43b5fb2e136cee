"""loop: a sub-pipeline whose output is also its own input."""
from .._native import DEFAULT_BUFFER_LIMIT, LoopFilter
from ..builder import PipelineBuilder


class LoopMixin(PipelineBuilder):
    def loop(self, target=None, *, buffer_limit=DEFAULT_BUFFER_LIMIT):
        """Sends the stream into a sub-pipeline (target, or built by the following .to()); everything it outputs
        goes on from here and is also fed back into it. What it outputs while an event is being pushed in goes round
        on the next turn of the event loop (at most buffer_limit bytes a turn, default 1 MiB; more ends the stream
        with BufferOverflow). The sub-pipeline stops the loop by outputting nothing more."""
        return self.append(LoopFilter(self.sub(target), int(buffer_limit)))
