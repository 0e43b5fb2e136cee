"""link: continue the stream in another pipeline."""
from .._native import LinkFilter
from ..builder import PipelineBuilder


class LinkMixin(PipelineBuilder):
    def link(self, target=None):
        """Sends the stream through the pipeline named target (or built by the following .to()); what that pipeline
        outputs goes on to the filter after link."""
        return self.append(LinkFilter(self.sub(target)))
