"""on_start: events a pipeline starts with, before any input."""
from .._native import OnStartFilter
from ..builder import PipelineBuilder
from ..errors import ScriptError, caller_location
from ._arity import takes_no_arguments


class OnStartMixin(PipelineBuilder):
    def on_start(self, starting):
        """Runs when the pipeline starts: what starting(start argument) returns, or starting itself when it is not
        callable, goes through the pipeline before its first event: an event, a Message, bytes or str (as Data), a
        list of these, None for nothing, or an awaitable of one (the stream's input waits for it). The start argument
        is what the filter that started the pipeline gives it (fork's list item, pipe's args), else None; a callable
        of no arguments is called without it. It comes first in its pipeline: in a listen() pipeline it runs as the
        connection is accepted, so a server can speak first (a greeting)."""
        # on_end() may come before it: it passes everything on, starting early included.
        before = [f for f in self._layout.filters if f.describe() != 'on_end'] if self._layout is not None else []
        if before:
            first = before[0].describe()
            raise ScriptError('on_start() comes first in its pipeline, before %s()' % first, *caller_location())
        takes_arg = not (callable(starting) and takes_no_arguments(starting))
        return self.append(OnStartFilter(starting, takes_arg))
