"""throttle_message_rate: a quota of messages per second per key."""
from .._native import ThrottleMessageRate
from ..builder import PipelineBuilder


class ThrottleMixin(PipelineBuilder):
    def throttle_message_rate(self, rate, *, burst=None, key=None, match=None):
        """Lets at most `rate` messages a second through, with bursts of up to `burst` (default: one second's
        worth). Streams with the same key share the quota: key is a value or a callable evaluated at the stream's
        first message (e.g. `lambda: ctx.client_id`); without one, all streams of this filter share it. match(head)
        -> bool limits the quota to some messages (e.g. MQTT PUBLISH); the others pass freely, in order. A message
        over the quota waits, with everything behind it, and the connection it came from is not read meanwhile."""
        return self.append(ThrottleMessageRate(rate, burst, key, match))
