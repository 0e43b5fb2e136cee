"""link: continue the stream in another pipeline, named in the script or chosen when the stream starts."""
from .._native import DEFAULT_BUFFER_LIMIT, LinkAsyncFilter, LinkFilter
from ..builder import PipelineBuilder
from ._arity import takes_no_arguments


class LinkMixin(PipelineBuilder):
    def link(self, target=None, *, buffer_limit=DEFAULT_BUFFER_LIMIT):
        """Sends the stream through the pipeline named target (or built by the following .to(), or by target when
        it is a function of one argument, the builder); what that pipeline outputs goes on to the filter after
        link. A function of no arguments chooses at run time: the stream's first event calls it for the name of a
        pipeline (a name the script does not define ends the stream, reported with this line); None means not yet,
        the events wait (up to buffer_limit bytes, default 1 MiB) and it is asked again at the next event."""
        if callable(target) and takes_no_arguments(target):
            return self.append(LinkFilter(None, target, self._module.named, int(buffer_limit)))
        return self.append(LinkFilter(self.sub(target)))

    def link_async(self, target=None, *, buffer_limit=DEFAULT_BUFFER_LIMIT):
        """As link(), but the events reach the linked pipeline on a later turn of the event loop instead of within
        the call that brought them (in order, a turn's worth at a time); what that pipeline outputs goes on at
        once. Use it where a pipeline's output leads back to its own input (a hub, a session shared by streams)
        and must not recurse into it, or to let the read that fed it finish first. Events waiting for their turn
        are bounded by buffer_limit bytes (default 1 MiB): past it the stream ends with BufferOverflow. Pipy's
        linkAsync can also run the pipeline on another thread; pipyx's workers are processes, each with one
        loop, so here it always runs on the stream's own."""
        if callable(target) and takes_no_arguments(target):
            return self.append(LinkAsyncFilter(None, target, self._module.named, int(buffer_limit)))
        return self.append(LinkAsyncFilter(self.sub(target), buffer_limit=int(buffer_limit)))
