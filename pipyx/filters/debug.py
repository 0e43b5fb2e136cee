"""dump and print: seeing what flows through a pipeline."""
from .._native import DumpFilter, PrintFilter
from ..builder import PipelineBuilder


class DebugMixin(PipelineBuilder):
    def dump(self, tag=''):
        """Prints every event to standard output, prefixed by tag (a value or a callable), and passes it on."""
        return self.append(DumpFilter(tag))

    def print(self):
        """Writes the Data that passes to standard output as text, and passes every event on."""
        return self.append(PrintFilter())
