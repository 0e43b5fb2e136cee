"""dummy: a filter that drops everything but the stream's end."""
from .._native import DummyFilter
from ..builder import PipelineBuilder


class DummyMixin(PipelineBuilder):
    def dummy(self):
        """Drops every event except StreamEnd: the end of a pipeline whose output nobody wants, that must still end."""
        return self.append(DummyFilter())
