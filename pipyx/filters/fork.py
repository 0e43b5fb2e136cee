"""fork: copy the stream into sub-pipelines whose output is dropped."""
from .._native import ForkFilter
from ..builder import PipelineBuilder


class ForkMixin(PipelineBuilder):
    def fork(self, target=None, count=1):
        """Copies every event into count sub-pipelines (target, or built by the following .to()) and passes it on.
        count is an int, a list (one sub-pipeline per item) or a callable returning either. Useful for logging and
        mirroring; the forks' output is dropped."""
        return self.append(ForkFilter(self.sub(target), count))
