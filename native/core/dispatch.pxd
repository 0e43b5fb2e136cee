# Declared here, defined in dispatch.pxi.

cdef void report_error(object exc, object location)
cdef void log_warning(str logger, str message)
cdef void dispatch_begins() noexcept
cdef void dispatch_ends()
cdef void hold(EventTarget holder)
cdef void flush_all_held()
cdef void soon(object fn)
