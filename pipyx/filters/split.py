"""split: a message body cut into messages at a separator."""
from .._native import SplitFilter
from ..builder import PipelineBuilder


class SplitMixin(PipelineBuilder):
    def split(self, separator):
        """Cuts each input message's body at every occurrence of separator (bytes, str as UTF-8 or Data, up to
        1 KiB; or a callable returning one, called at each input message's first Data) and outputs every piece as a
        message of its own, without the separator and with no head: b'a\\nb\\n' split at b'\\n' is three messages,
        b'a', b'b' and b''. Bytes pass on as they come; only the beginning of a separator that a chunk ends with is
        held, until the next chunk tells. The input's MessageStart and MessageEnd are dropped; a StreamEnd passes
        after the last piece."""
        return self.append(SplitFilter(separator))
