"""The handle_* family: callbacks that look at events and let them pass unchanged."""
from .._native import HandleFilter
from ..config import filter_method

_KINDS = ('stream_start', 'message_start', 'data', 'message', 'message_end', 'stream_end')


def _make(kind_index, name):
    def method(self, callback, *, size_limit=16 * 1024 * 1024):
        return self.append(HandleFilter(kind_index, callback, size_limit))
    method.__name__ = name
    what = name[len('handle_'):].replace('_', ' ')
    method.__doc__ = (
        'Calls callback(%s) and passes every event on unchanged. If the callback returns an awaitable, the '
        "stream's events wait until it is done." % ('Message — the whole message, body up to size_limit — at '
                                                    'each message end' if what == 'message' else
                                                    'the first event' if what == 'stream start' else
                                                    'each %s event' % what))
    return method


for _i, _k in enumerate(_KINDS):
    filter_method(_make(_i, 'handle_' + _k))
