# Per-stream context. Every module (script file) declares its variables with pipy(**defaults) and may export some
# under a namespace for other modules to import. Each stream gets its own values; the `ctx` object reads and writes
# the values of the stream whose callback is running, as seen from the module that callback belongs to.

cdef class ModuleScope:
    """The variables one script module declares, exports and imports."""

    def __init__(self, filename, defaults=None):
        self.filename = filename
        self.defaults = dict(defaults or {})
        self.imports = {}
        self._refresh()

    def declare(self, dict names):
        self.defaults.update(names)
        self._refresh()

    def _refresh(self):
        self._mutable = tuple(k for k, v in self.defaults.items() if isinstance(v, (list, dict, set, bytearray)))

    cdef dict new_state(self):
        cdef dict state = self.defaults.copy()
        for k in self._mutable:
            state[k] = state[k].copy()
        return state


cdef class Context:
    """The values of context variables for one stream, and what the stream knows of its connection."""

    def __init__(self, inbound=None):
        self._states = {}
        self.inbound = inbound

    cdef dict protocol(self):
        if self._protocol is None:
            self._protocol = {}
        return self._protocol

    cdef dict state(self, ModuleScope scope):
        s = self._states.get(scope)
        if s is None:
            s = scope.new_state()
            self._states[scope] = s
        return <dict>s

    cdef Context clone(self):
        # A mux_http session pipeline starts with a copy of the values of the stream that opened it.
        cdef Context c = Context.__new__(Context)
        c._states = {k: (<dict>v).copy() for k, v in self._states.items()}
        c.inbound = self.inbound
        c.tls = self.tls
        return c


cdef Context _cur_ctx = None
cdef ModuleScope _cur_scope = None


cdef inline void enter_scope(Context c, ModuleScope s):
    global _cur_ctx, _cur_scope
    _cur_ctx = c
    _cur_scope = s


cdef class ContextAccess:
    """`ctx`: the context variables of the stream whose callback is running.

    Read and write them as attributes: `ctx.target = '127.0.0.1:8080'`. Only names declared with pipy(...) or
    imported with import_(...) exist; anything else raises AttributeError, so a typo never goes unnoticed.
    `ctx.inbound` tells the remote and local address of the stream's connection, `ctx.tls` what accept_tls's
    handshake settled (SNI name, ALPN protocol, version, cipher, the client's certificate).
    """

    def __getattr__(self, str name):
        cdef Context c = _cur_ctx
        cdef ModuleScope scope = _cur_scope
        t = _task_scope.get()
        if t is not None:
            c, scope = t                 # inside an awaited callback: the stream that started it
        if c is None or scope is None:
            raise RuntimeError('ctx is only available inside a pipeline callback')
        s = c.state(scope)
        try:
            return s[name]
        except KeyError:
            pass
        owner = scope.imports.get(name)
        if owner is not None:
            return c.state(<ModuleScope>owner)[name]
        if name == 'inbound':
            return c.inbound
        if name == 'tls':
            return c.tls
        raise AttributeError("no context variable '%s' in %s: declare it with pipy(%s=...)" % (name, scope.filename, name))

    def __setattr__(self, str name, value):
        cdef Context c = _cur_ctx
        cdef ModuleScope scope = _cur_scope
        t = _task_scope.get()
        if t is not None:
            c, scope = t
        if c is None or scope is None:
            raise RuntimeError('ctx is only available inside a pipeline callback')
        s = c.state(scope)
        if name in s:
            s[name] = value
            return
        owner = scope.imports.get(name)
        if owner is not None:
            c.state(<ModuleScope>owner)[name] = value
            return
        raise AttributeError("no context variable '%s' in %s: declare it with pipy(%s=...)" % (name, scope.filename, name))

    def __repr__(self):
        if _cur_ctx is None or _cur_scope is None:
            return '<ctx: outside any stream>'
        return '<ctx %r>' % (_cur_ctx.state(_cur_scope),)


ctx = ContextAccess()
