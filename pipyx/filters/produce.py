"""produce: a stream made by a callback."""
from .._native import ProduceFilter
from ..builder import PipelineBuilder


class ProduceMixin(PipelineBuilder):
    def produce(self, callback):
        """At the stream's first event, calls callback() and outputs what it returns — an event, a Message, bytes
        or str (as Data), a list of these, or an awaitable of one, which is waited for — then calls it again, until
        it returns None (the stream ends with StreamEnd()) or a StreamEnd (which goes out and ends it). Input events
        are dropped. The callback runs a few times per turn of the event loop and not while the output is
        congested. An error in it ends the stream with StreamEnd('RuntimeError')."""
        return self.append(ProduceFilter(callback))
