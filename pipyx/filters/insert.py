"""insert: events put into the stream before its first one."""
from .._native import InsertFilter
from ..builder import PipelineBuilder


class InsertMixin(PipelineBuilder):
    def insert(self, events):
        """When the stream's first event reaches it, puts events ahead of it: an event, a Message, bytes or str (as
        Data), a list of these, or a callable of no arguments returning one of those (or an awaitable of one: the
        stream waits for it)."""
        return self.append(InsertFilter(events))
