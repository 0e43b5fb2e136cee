"""pack: messages coalesced into bigger ones."""
from .._native import DEFAULT_MESSAGE_SIZE_LIMIT, PackFilter
from ..builder import PipelineBuilder


class PackMixin(PipelineBuilder):
    def pack(self, batch_size=1, *, max_size=None, timeout=None, interval=None, prefix=None, separator=None,
             postfix=None, size_limit=DEFAULT_MESSAGE_SIZE_LIMIT, vacancy=0.5):
        """Outputs every batch_size input messages as one message: the first one's head, the bodies one after
        another (prefix before the first, separator between two, postfix after the last: bytes or str), the last
        one's MessageEnd. A batch also goes out early at the end of the message that brings its body to max_size
        bytes; after `timeout` seconds without input; and `interval` seconds after the previous batch went out
        (both checked at least every second). A whole batch left when the stream ends goes out before the
        StreamEnd, without a message cut short by it. A batch whose body would pass size_limit bytes ends the
        stream with StreamEnd('BufferOverflow').

        vacancy (0 to 1, default 0.5, Pipy's option): how much of a 4 KiB chunk may stay empty. Pieces of the
        bodies shorter than (1 - vacancy) * 4 KiB are copied together into bigger buffers as they come (fewer
        buffers to write and keep, at the cost of a copy); longer ones are kept as they came. 0 joins every piece
        under 4 KiB, 1 copies nothing."""
        return self.append(PackFilter(batch_size, max_size, timeout, interval, prefix, separator, postfix,
                                      size_limit, vacancy))
