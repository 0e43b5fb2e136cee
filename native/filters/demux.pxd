# Declared here, defined in demux.pxi.

# Congested while a filter holds input it will not take yet: the reader that brought it pauses until it opens.
cdef class InputGate(Endpoint):
    cdef void close_gate(self)
    cdef void open_gate(self)


# One message's place in the output order: the output of its sub-pipeline.
cdef class DemuxSlot(EventTarget):
    cdef Demux owner
    cdef Pipeline sub
    cdef DemuxSlot next_slot
    cdef list held                      # what it output while the slots ahead of it were not done
    cdef int expected                   # output messages still to come
    cdef bint in_message                # an output message has started and not ended
    cdef bint input_done                # its input message has ended
    cdef bint done                      # it gave all its output messages, or its sub-pipeline ended
    cdef bint exclusive                 # no message after it starts before it is done (a negative output_count)
    cdef object error                   # the end it came to short of its outputs: the stream's end

    cdef int on_event(self, Event evt) except -1
    cdef int give(self, Event evt) except -1
    cdef int finish(self, object error) except -1


# demux(output_count=1, max_queue=256): a sub-pipeline per message, their outputs in message order.
cdef class Demux(Filter):
    cdef LayoutRef target
    cdef object output_count            # an int, or a callable given each MessageStart
    cdef int max_queue
    cdef DemuxSlot oldest               # the slots whose outputs are awaited, oldest first
    cdef DemuxSlot newest
    cdef DemuxSlot current              # the slot of the message being received
    cdef int queued                     # slots in the queue
    cdef DemuxSlot exclusive            # the exclusive slot in the queue, if any
    cdef list waiting                   # input held while the queue is full
    cdef InputGate gate
    cdef StreamEnd eos                  # the input's end, given once the queue is empty
    cdef bint advancing
    cdef bint ended

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef int take(self, Event evt) except -1
    cdef int start_message(self, MessageStart evt) except -1
    cdef int push(self, DemuxSlot s, Event evt) except -1
    cdef void end_sub(self, DemuxSlot s, object error)
    cdef int advance(self) except -1
    cdef int resume(self) except -1
    cdef int abort(self, object error) except -1
    cdef void shutdown(self)
