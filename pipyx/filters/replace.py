"""The replace_* family: callbacks whose return value takes the place of the events they are given.

What a replacement returns (or is, when it is not callable) becomes events: an event as it is, a Message as
MessageStart, Data, MessageEnd, bytes or str as Data, a list of these in turn, None as nothing (the event is
dropped), an awaitable of any of these once it is done.
"""
from .._native import DEFAULT_MESSAGE_SIZE_LIMIT, KIND_NAMES, ReplaceFilter
from ..builder import PipelineBuilder

_kind = KIND_NAMES.index


class ReplaceMixin(PipelineBuilder):
    def replace_stream_start(self, replacement=None, *, size_limit=DEFAULT_MESSAGE_SIZE_LIMIT):
        """Replaces the stream's first event with what replacement(event) returns, or with replacement itself if it
        is not callable: an event, a Message, bytes or str (as Data), a list of these, None to drop it, or an
        awaitable of one. The other events pass unchanged."""
        return self.append(ReplaceFilter(_kind('stream_start'), replacement, size_limit))

    def replace_message_start(self, replacement=None, *, size_limit=DEFAULT_MESSAGE_SIZE_LIMIT):
        """Replaces each MessageStart with what replacement(event) returns, or with replacement itself if it is not
        callable: an event, a Message, bytes or str (as Data), a list of these, None to drop it, or an awaitable of
        one. The other events pass unchanged."""
        return self.append(ReplaceFilter(_kind('message_start'), replacement, size_limit))

    def replace_data(self, replacement=None, *, size_limit=DEFAULT_MESSAGE_SIZE_LIMIT):
        """Replaces each Data with what replacement(data) returns, or with replacement itself if it is not callable:
        an event, a Message, bytes or str (as Data), a list of these, None to drop it, or an awaitable of one. The
        other events pass unchanged."""
        return self.append(ReplaceFilter(_kind('data'), replacement, size_limit))

    def replace_message(self, replacement=None, *, size_limit=DEFAULT_MESSAGE_SIZE_LIMIT):
        """Replaces each whole message (MessageStart, Data, MessageEnd) with what replacement(Message) returns at its
        end, or with replacement itself if it is not callable: an event, a Message, bytes or str (as Data), a list of
        these, None to drop it, or an awaitable of one. Events outside messages pass unchanged. A body over
        size_limit bytes (default 16 MiB) ends the stream with BufferOverflow, reported with this line."""
        return self.append(ReplaceFilter(_kind('message'), replacement, size_limit))

    def replace_message_end(self, replacement=None, *, size_limit=DEFAULT_MESSAGE_SIZE_LIMIT):
        """Replaces each MessageEnd with what replacement(event) returns, or with replacement itself if it is not
        callable: an event, a Message, bytes or str (as Data), a list of these, None to drop it, or an awaitable of
        one. The other events pass unchanged."""
        return self.append(ReplaceFilter(_kind('message_end'), replacement, size_limit))

    def replace_stream_end(self, replacement=None, *, size_limit=DEFAULT_MESSAGE_SIZE_LIMIT):
        """Replaces the StreamEnd with what replacement(event) returns, or with replacement itself if it is not
        callable: an event, a Message, bytes or str (as Data), a list of these, None to drop it, or an awaitable of
        one. The other events pass unchanged."""
        return self.append(ReplaceFilter(_kind('stream_end'), replacement, size_limit))

    def replace_message_body(self, replacement=None, *, size_limit=DEFAULT_MESSAGE_SIZE_LIMIT):
        """Replaces each message's whole body with what replacement(Data) returns at the message's end, or with
        replacement itself if it is not callable: Data, bytes or str, a list of these, None for no body, or an
        awaitable of one. The MessageStart and MessageEnd pass unchanged. A body over size_limit bytes (default
        16 MiB) ends the stream with BufferOverflow, reported with this line."""
        return self.append(ReplaceFilter(_kind('message_body'), replacement, size_limit))
