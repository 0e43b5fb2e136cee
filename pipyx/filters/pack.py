"""pack: messages coalesced into bigger ones."""
from .._native import DEFAULT_MESSAGE_SIZE_LIMIT, PackFilter
from ..builder import PipelineBuilder


class PackMixin(PipelineBuilder):
    def pack(self, batch_size=1, *, max_size=None, timeout=None, interval=None, prefix=None, separator=None,
             postfix=None, size_limit=DEFAULT_MESSAGE_SIZE_LIMIT):
        """Outputs every batch_size input messages as one message: the first one's head, the bodies one after
        another (prefix before the first, separator between two, postfix after the last: bytes or str), the last
        one's MessageEnd. A batch also goes out early at the end of the message that brings its body to max_size
        bytes; after `timeout` seconds without input; and `interval` seconds after the previous batch went out
        (both checked at least every second). A whole batch left when the stream ends goes out before the
        StreamEnd, without a message cut short by it. A batch whose body would pass size_limit bytes ends the
        stream with StreamEnd('BufferOverflow'). Small pieces of the bodies are joined into bigger buffers as they
        come."""
        return self.append(PackFilter(batch_size, max_size, timeout, interval, prefix, separator, postfix,
                                      size_limit))
