"""demux: one sub-pipeline per message, their outputs in message order."""
from .._native import Demux
from ..builder import PipelineBuilder
from ..errors import ScriptError, caller_location


def output_count_option(filter_name, output_count):
    """output_count as the native filters take it: an int or a callable, else a ScriptError at the script's line."""
    if isinstance(output_count, bool) or not (isinstance(output_count, int) or callable(output_count)):
        raise ScriptError('%s(): output_count is an int or a function of the MessageStart, not %r'
                          % (filter_name, output_count), *caller_location())
    return output_count


def count_option(filter_name, name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ScriptError('%s(): %s is a count of 0 or more (0: no limit), not %r' % (filter_name, name, value),
                          *caller_location())
    return value


class DemuxMixin(PipelineBuilder):
    def demux(self, output_count=1, *, max_queue=256, target=None):
        """Starts a sub-pipeline (target, or the one given by the following .to()) for every message of the stream:
        it receives that one message (MessageStart, Data, MessageEnd) and then its StreamEnd once its outputs are
        out. What the sub-pipelines output leaves in the order of the messages: a sub-pipeline that answers early
        waits, held, for the ones before it.

        output_count says how many messages each sub-pipeline outputs: an int, or a function given the
        MessageStart (`lambda evt: 0 if evt.head.type == 'PUBLISH' and evt.head.qos == 0 else 1`). 0 is a one-way
        message: nothing is awaited from its sub-pipeline and nothing waits behind it. A negative count -n awaits n
        outputs and takes no further message until they are out (a message whose answer changes what follows).
        A sub-pipeline that ends before its outputs ends the stream with its end, after the outputs before it.

        At most max_queue messages (0: no limit) await their outputs at once; the input past them waits here and
        the connection it came from is not read meanwhile. The stream's end is passed on after the last output.
        Pipy's demuxQueue is the same filter: demux_queue is an alias."""
        output_count = output_count_option('demux', output_count)
        max_queue = count_option('demux', 'max_queue', max_queue)
        ref = self.sub(target)
        return self.append(Demux(ref, output_count, max_queue))

    def demux_queue(self, output_count=1, *, max_queue=256, target=None):
        """Pipy's demuxQueue: the same as demux()."""
        return self.demux(output_count, max_queue=max_queue, target=target)
