"""mux: the messages of many streams merged into shared session sub-pipelines."""
from .._native import Mux, parse_seconds
from ..builder import PipelineBuilder
from ..errors import ScriptError, caller_location
from .demux import count_option, output_count_option


def seconds_option(filter_name, name, value):
    """A duration as Pipy writes them (a number of seconds, '500ms', '30s', '5m', '1h'), else a ScriptError."""
    try:
        seconds = parse_seconds(value, name)
    except ValueError as e:
        raise ScriptError('%s(): %s' % (filter_name, e), *caller_location()) from None
    if seconds < 0:
        raise ScriptError('%s(): %s is a duration of 0 or more, not %r' % (filter_name, name, value),
                          *caller_location())
    return seconds


class MuxMixin(PipelineBuilder):
    def mux(self, session_key=None, *, output_count=1, max_idle=60.0, max_queue=1000, max_messages=0,
            max_message_size=16 << 20, target=None):
        """Merges the messages of many streams into shared sessions and outputs, to each stream, the replies to its
        own messages. A session is an instance of the sub-pipeline (target, or the one given by the following
        .to()), typically an encoder, connect() and a decoder: it receives whole messages, one after another, and
        its output messages are the replies, matched to the messages in the order they went in.

        Sessions are pooled by session_key: a value, or a function evaluated at each stream's first message (e.g.
        `lambda: ctx.tenant`). Without one, the messages of one inbound connection share sessions (as in Pipy); give
        any constant (`mux('upstream')`) to merge every connection's messages. A session starts with a copy of the
        context variables of the stream that opened it.

        output_count is how many reply messages each message gets: an int, or a function given the MessageStart.
        0 is a one-way message (nothing awaited). A stream's replies reach it in the order of its messages.

        A message goes to the first session of its pool with fewer than max_queue replies awaited (0: no limit) and
        fewer than max_messages messages carried (0: no limit), or to a new session. A session with no reply
        awaited for max_idle seconds (a number or '30s', '5m') is closed, and so is one that has carried
        max_messages once its last reply is out. A session whose sub-pipeline ends, or fails, ends every stream
        whose replies it still owed with that StreamEnd error (ConnectionReset when it simply closed); other
        streams are not touched. A stream that ends normally gets its replies and then its end; one that ends
        with an error, or goes away, has the replies still due to it dropped.

        A message is gathered whole before it goes into a session (so that messages of different streams never
        interleave): one of over max_message_size bytes ends its stream with BufferOverflow.
        Pipy's muxQueue is the same filter: mux_queue is an alias."""
        if not (session_key is None or callable(session_key)):
            try:
                hash(session_key)
            except TypeError:
                raise ScriptError('mux(): session_key is a hashable value or a function, not %r' % (session_key,),
                                  *caller_location()) from None
        output_count = output_count_option('mux', output_count)
        idle = seconds_option('mux', 'max_idle', max_idle)
        max_queue = count_option('mux', 'max_queue', max_queue)
        max_messages = count_option('mux', 'max_messages', max_messages)
        max_message_size = count_option('mux', 'max_message_size', max_message_size)
        ref = self.sub(target)
        return self.append(Mux(ref, session_key, output_count, idle, max_queue, max_messages, max_message_size))

    def mux_queue(self, session_key=None, **options):
        """Pipy's muxQueue: the same as mux()."""
        return self.mux(session_key, **options)
