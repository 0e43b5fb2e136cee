"""replay: run the stream again through a new sub-pipeline when the last one asks for it (retries)."""
from .._native import DEFAULT_BUFFER_LIMIT, ReplayFilter
from ..builder import PipelineBuilder


class ReplayMixin(PipelineBuilder):
    def replay(self, target=None, *, delay=0, max_replays=3, buffer_limit=DEFAULT_BUFFER_LIMIT):
        """Sends the stream through a sub-pipeline (target, or built by the following .to()), recording it; what the
        sub-pipeline outputs goes on from here. When it ends with StreamEnd('Replay'), a new instance gets the
        recorded stream (and what follows it) after delay seconds (a number, or a callable giving one for each
        replay). max_replays (default 3, None for no limit): after that many, a further StreamEnd('Replay') goes on,
        reported with this line. buffer_limit (default 1 MiB): the most input bytes recorded; past that the stream
        still goes through, but a replay ends it with BufferOverflow."""
        return self.append(ReplayFilter(self.sub(target), delay, max_replays, int(buffer_limit)))
