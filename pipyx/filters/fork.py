"""fork and its kin: copy the stream into sub-pipelines; fork_join waits for them, fork_race takes the first to
answer."""
from .._native import DEFAULT_BUFFER_LIMIT, ForkFilter
from ..builder import PipelineBuilder

_COPY, _JOIN, _RACE = 0, 1, 2


def _target_and_count(target, count):
    # As in Pipy, the list of start arguments may come first: fork([...]).to(...).
    if isinstance(target, (list, tuple)):
        return None, target
    return target, count


class ForkMixin(PipelineBuilder):
    def fork(self, target=None, count=1):
        """Copies every event into count sub-pipelines (target, or built by the following .to()) and passes it on.
        count is an int, a list (one sub-pipeline per item, which is its start argument for on_start(), each with a
        copy of the stream's context variables) or a callable returning either. Useful for logging and mirroring;
        the forks' output is dropped. A list may also come first, in target's place: fork(items).to(...)."""
        target, count = _target_and_count(target, count)
        return self.append(ForkFilter(self.sub(target), count))

    def fork_join(self, target=None, count=1, *, buffer_limit=DEFAULT_BUFFER_LIMIT, timeout=None):
        """As fork, but the stream goes on only once every fork has ended, that is output its StreamEnd (its events
        wait meanwhile, up to buffer_limit bytes, default 1 MiB; more ends the stream with BufferOverflow). The
        forks' output is dropped: what they found out, they leave in context variables. After timeout seconds (None:
        no limit) the forks still running are ended, and the stream ends with ReadTimeout."""
        target, count = _target_and_count(target, count)
        return self.append(ForkFilter(self.sub(target), count, _JOIN, int(buffer_limit), timeout))

    def fork_race(self, target=None, count=1):
        """As fork, but the output of the first fork to answer is the stream's output, and the other forks are ended.
        A fork that ends with an error before it outputs anything does not answer; when every fork does so, the
        stream ends as the last of them did. With no forks, the stream passes straight on."""
        target, count = _target_and_count(target, count)
        return self.append(ForkFilter(self.sub(target), count, _RACE))
