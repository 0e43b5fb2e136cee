"""swap: streams that exchange their events through a hub."""
from .._native import DEFAULT_BUFFER_LIMIT, Hub, SwapFilter
from ..builder import PipelineBuilder
from ..errors import ScriptError, caller_location


class SwapMixin(PipelineBuilder):
    def swap(self, hub, *, buffer_limit=DEFAULT_BUFFER_LIMIT):
        """Joins the stream to hub: a Hub, the name of one (hubs of the same name are one hub, for the whole
        script), or a callable returning either, asked at the stream's first event (None: not yet, the events wait,
        up to buffer_limit bytes, default 1 MiB, and it is asked again at the next event). Every event the stream
        brings here goes to the other streams on the hub, out of their swap filters; what they send comes out of
        this one. The stream leaves the hub when its pipeline ends."""
        if not (isinstance(hub, (Hub, str)) or callable(hub)):
            raise ScriptError('swap() needs a Hub, the name of one or a callable, not %s' % type(hub).__name__,
                              *caller_location())
        return self.append(SwapFilter(hub, self._module.program.hubs, int(buffer_limit)))
