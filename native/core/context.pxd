# Declared here, defined in context.pxi.

# The variables one script module declares, exports and imports.
cdef class ModuleScope:
    cdef public str filename
    cdef public dict defaults           # name -> initial value (own variables and exported ones)
    cdef public dict imports            # name -> the ModuleScope that exports it
    cdef tuple _mutable                 # names whose defaults are containers, copied per stream

    cdef dict new_state(self)


# The values of context variables for one stream, and what the stream knows of its connection.
cdef class Context:
    cdef dict _states                   # ModuleScope -> dict of values, made on first use
    cdef public object inbound          # InboundInfo of the accepted connection, or None
    cdef public object tls              # TlsInfo once accept_tls has finished its handshake, or None
    cdef dict _protocol                 # what codecs on this stream share (an MQTT protocol level, ...)

    cdef dict protocol(self)
    cdef dict state(self, ModuleScope scope)
    cdef Context clone(self)


cdef void enter_scope(Context c, ModuleScope s)


# `ctx`: the context variables of the stream whose callback is running.
cdef class ContextAccess:
    pass
