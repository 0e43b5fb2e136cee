"""pipe and pipe_next: a sub-pipeline (or a chain of them) chosen when the stream starts."""
from .._native import DEFAULT_BUFFER_LIMIT, PipeFilter, PipeNextFilter
from ..builder import PipelineBuilder
from ..errors import ScriptError, caller_location
from ._arity import takes_no_arguments


def _given_first_event(fn):
    # The filter hands these callables the stream's first event; one that wants no argument is called without.
    if callable(fn) and takes_no_arguments(fn):
        return lambda evt: fn()
    return fn


class PipeMixin(PipelineBuilder):
    def pipe(self, target, target_map=None, *, args=None, buffer_limit=DEFAULT_BUFFER_LIMIT):
        """Sends the whole stream through a pipeline chosen when it starts; what it outputs goes on from here.

        target is the name of a pipeline, a list of names (a chain: each pipeline's pipe_next() hands the stream to
        the next one), or a callable given the stream's first event that returns either (or None: not yet, the
        events wait, up to buffer_limit bytes, default 1 MiB, and it is asked again at the next event). Names are
        looked up in target_map first ({name: pipeline name or function building one}), then among the script's
        pipelines; a name found in neither ends the stream, reported with this line. args is the pipeline's start
        argument (what its on_start callback is given), or a callable given the first event that returns it."""
        refs = None
        if target_map is not None:
            if not isinstance(target_map, dict):
                raise ScriptError('pipe(): target_map is a dict of names to pipelines, not %s'
                                  % type(target_map).__name__, *caller_location())
            refs = {k: self.sub(v) for k, v in target_map.items()}
        if isinstance(target, str):
            target = refs[target] if refs and target in refs else self.sub(target)
        elif isinstance(target, (list, tuple)):
            if not target:
                raise ScriptError('pipe(): an empty list of pipelines', *caller_location())
            target = [refs[t] if refs and t in refs else self.sub(t) for t in target]
        elif not callable(target):
            raise ScriptError('pipe(): target is a pipeline name, a list of them or a callable, not %s'
                              % type(target).__name__, *caller_location())
        return self.append(PipeFilter(_given_first_event(target), refs, self._module.named, _given_first_event(args),
                                      int(buffer_limit)))

    def pipe_next(self):
        """In a pipeline of a chain started by pipe() with a list: the stream goes on through the next pipeline of
        the list, and what that outputs goes on from here; after the last one, the stream passes straight on."""
        return self.append(PipeNextFilter())
