"""The throttle family: throttle_message_rate, throttle_data_rate and throttle_concurrency."""
from .._native import Quota, ThrottleConcurrency, ThrottleDataRate, ThrottleMessageQuota, ThrottleMessageRate
from ..builder import PipelineBuilder
from ..errors import ScriptError, caller_location


def _quota_filter(cls, quota, block_input):
    try:
        return cls(quota, block_input)
    except TypeError as e:
        raise ScriptError(str(e), *caller_location()) from None


class ThrottleMixin(PipelineBuilder):
    def throttle_message_rate(self, rate, *, burst=None, key=None, match=None, block_input=True):
        """Limits how many messages a second pass. Two forms:

        throttle_message_rate(rate, burst=None, key=None, match=None): at most `rate` messages a second, with bursts
        of up to `burst` (default: one second's worth). Streams with the same key share the quota: key is a value or
        a callable evaluated at the stream's first message (e.g. `lambda: ctx.client_id`); without one, all streams
        of this filter share it. match(head) -> bool limits the quota to some messages (e.g. MQTT PUBLISH); the others
        pass freely, in order.

        throttle_message_rate(quota), as Pipy: each message takes 1 from an algo.Quota (or from the Quota a callable
        returns at the stream's first event, e.g. one per client), such as `algo.Quota(100, per=1)`.

        Either way a message over the quota waits, with everything behind it, and with block_input (the default) the
        connection it came from is not read meanwhile."""
        if isinstance(rate, Quota) or callable(rate):
            if burst is not None or key is not None or match is not None:
                raise ScriptError('throttle_message_rate(quota) takes no burst, key or match: the quota says how '
                                  'much, and a function returning a quota per stream keys it', *caller_location())
            return self.append(_quota_filter(ThrottleMessageQuota, rate, block_input))
        return self.append(ThrottleMessageRate(rate, burst, key, match))

    def throttle_data_rate(self, quota, *, block_input=True):
        """Limits the bytes passing through: each Data takes its size from quota, an algo.Quota or a callable
        returning one, evaluated at the stream's first event (a quota per client: `lambda: quotas_by_ip(...)`).
        `algo.Quota(1_000_000, per=1)` lets a megabyte through every second. A Data larger than what is left goes
        in part, and the rest waits for the quota, with everything behind it; with block_input (the default) the
        connection that sent it is not read meanwhile. Other events pass unchanged, in order."""
        return self.append(_quota_filter(ThrottleDataRate, quota, block_input))

    def throttle_concurrency(self, quota, *, block_input=True):
        """Limits how many streams are inside at once: a stream takes 1 from quota (an algo.Quota, or a callable
        returning one at the stream's first event) with its first event, and gives it back when it ends. A stream
        that finds none waits, its events held in order (with block_input, the default, its connection is not read
        meanwhile), and goes in when one ends: `throttle_concurrency(algo.Quota(100))`."""
        return self.append(_quota_filter(ThrottleConcurrency, quota, block_input))
