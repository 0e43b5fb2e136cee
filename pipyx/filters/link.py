"""link: continue the stream in another pipeline, named in the script or chosen when the stream starts."""
from .._native import DEFAULT_BUFFER_LIMIT, LinkFilter
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
