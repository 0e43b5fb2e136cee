"""deframe: a state machine that parses a custom binary protocol."""
from .._native import DeframeFilter
from ..builder import PipelineBuilder


class DeframeMixin(PipelineBuilder):
    def deframe(self, states):
        """Parses the stream's bytes with a state machine. states maps each state's name to a callback (or to
        what it would always return); the first one is where every stream starts, and where it starts again after a
        StreamEnd. The callback of the current state is called with the next byte (an int), or, when the previous
        state asked for a read, with what was read, and answers with

        - the next state's name, or
        - a list (or tuple) [events..., next_state, size, into]: the events (MessageStart, Data, MessageEnd,
          StreamEnd, Message) go out first; then the next `size` bytes are read before next_state is called,
          into a Data (which it is given), a list (of ints, which it is given), or None: the bytes go straight out
          as Data, and next_state gets None.

        Only Data is parsed; other input events except StreamEnd are dropped, and StreamEnd passes. An error in a
        callback, an answer that is none of these, or an unknown state's name ends the stream with
        StreamEnd('RuntimeError'), logged with the script's line."""
        return self.append(DeframeFilter(states))
