"""The handle_* family: callbacks that look at events and let them pass unchanged."""
from .._native import DEFAULT_MESSAGE_SIZE_LIMIT, KIND_NAMES, HandleFilter
from ..builder import PipelineBuilder

_kind = KIND_NAMES.index


class HandleMixin(PipelineBuilder):
    def handle_stream_start(self, callback, *, size_limit=DEFAULT_MESSAGE_SIZE_LIMIT):
        """Calls callback(event) with the stream's first event, whatever it is, and passes every event on unchanged.
        If the callback returns an awaitable, the stream's events wait until it is done."""
        return self.append(HandleFilter(_kind('stream_start'), callback, size_limit))

    def handle_message_start(self, callback, *, size_limit=DEFAULT_MESSAGE_SIZE_LIMIT):
        """Calls callback(MessageStart) at each message start and passes every event on unchanged. If the callback
        returns an awaitable, the stream's events wait until it is done."""
        return self.append(HandleFilter(_kind('message_start'), callback, size_limit))

    def handle_data(self, callback, *, size_limit=DEFAULT_MESSAGE_SIZE_LIMIT):
        """Calls callback(Data) for each Data event and passes every event on unchanged. If the callback returns an
        awaitable, the stream's events wait until it is done."""
        return self.append(HandleFilter(_kind('data'), callback, size_limit))

    def handle_message(self, callback, *, size_limit=DEFAULT_MESSAGE_SIZE_LIMIT, truncate=False):
        """Calls callback(Message) at each message end with the whole message and passes every event on unchanged.
        A body over size_limit bytes (default 16 MiB) ends the stream with BufferOverflow, reported with this line;
        with truncate=True, the Message holds only its first size_limit bytes instead and the stream goes on. If the
        callback returns an awaitable, the stream's events wait until it is done."""
        return self.append(HandleFilter(_kind('message'), callback, size_limit, truncate))

    def handle_message_end(self, callback, *, size_limit=DEFAULT_MESSAGE_SIZE_LIMIT):
        """Calls callback(MessageEnd) at each message end and passes every event on unchanged. If the callback
        returns an awaitable, the stream's events wait until it is done."""
        return self.append(HandleFilter(_kind('message_end'), callback, size_limit))

    def handle_stream_end(self, callback, *, size_limit=DEFAULT_MESSAGE_SIZE_LIMIT):
        """Calls callback(StreamEnd) when the stream ends and passes every event on unchanged. If the callback
        returns an awaitable, the stream's events wait until it is done."""
        return self.append(HandleFilter(_kind('stream_end'), callback, size_limit))

    def handle_message_body(self, callback, *, size_limit=DEFAULT_MESSAGE_SIZE_LIMIT, truncate=False):
        """Calls callback(Data) at each message end with the message's whole body, and passes every event on
        unchanged. A body over size_limit bytes (default 16 MiB) ends the stream with BufferOverflow, reported with
        this line; with truncate=True, the callback gets only its first size_limit bytes instead and the stream goes
        on. If the callback returns an awaitable, the stream's events wait until it is done."""
        return self.append(HandleFilter(_kind('message_body'), callback, size_limit, truncate))
