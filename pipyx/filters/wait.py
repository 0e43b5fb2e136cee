"""wait: hold a stream until a condition holds."""
from .._native import WaitFilter
from ..builder import PipelineBuilder


class WaitMixin(PipelineBuilder):
    def wait(self, condition, *, timeout=None):
        """Holds the stream's events until condition() returns true, then lets them all through. The condition is
        checked on each event and every few milliseconds; after timeout seconds the stream ends with ReadTimeout."""
        return self.append(WaitFilter(condition, timeout))
