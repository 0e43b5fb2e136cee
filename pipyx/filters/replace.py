"""The replace_* family: callbacks whose return value takes the place of the events they are given."""
from .._native import ReplaceFilter
from ..config import filter_method

_KINDS = ('stream_start', 'message_start', 'data', 'message', 'message_end', 'stream_end')


def _make(kind_index, name):
    def method(self, replacement=None, *, size_limit=16 * 1024 * 1024):
        return self.append(ReplaceFilter(kind_index, replacement, size_limit))
    method.__name__ = name
    what = name[len('replace_'):].replace('_', ' ')
    method.__doc__ = (
        'Replaces %s with what replacement returns (or with replacement itself if it is not callable): an event, a '
        'Message, bytes or str (as Data), a list of these, None to drop it, or an awaitable of one.'
        % ('each whole message (body up to size_limit)' if what == 'message' else
           "the stream's first event" if what == 'stream start' else 'each %s event' % what))
    return method


for _i, _k in enumerate(_KINDS):
    filter_method(_make(_i, 'replace_' + _k))
