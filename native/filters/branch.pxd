# Declared here, defined in branch.pxi.

# When a branch filter chooses its sub-pipeline.
cdef enum BranchMode:
    BRANCH_STREAM = 0                  # branch: at the stream's first event
    BRANCH_MESSAGE_START = 1           # branch_message_start: at the first MessageStart, given to the conditions
    BRANCH_MESSAGE = 2                 # branch_message: once the first whole message is in, given as a Message


# branch(cond1, pipeline1, cond2, pipeline2, ..., default) and its message-wise kin: picks the first pipeline whose
# condition is true (a condition is a callable or a plain value), once per stream.
cdef class BranchFilter(Filter):
    cdef list conditions
    cdef list targets                  # LayoutRef or None
    cdef object default                # LayoutRef or None
    cdef int mode
    cdef Py_ssize_t size_limit         # branch_message: the most bytes of body held before the choice
    cdef EventTarget chosen
    cdef Pipeline sub
    cdef EventBuffer held              # the events before the choice (message modes)
    cdef object _head                  # branch_message: the first message, as it comes in
    cdef Data _body

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef int choose(self, object arg, bint with_arg) except -1
    cdef void shutdown(self)
