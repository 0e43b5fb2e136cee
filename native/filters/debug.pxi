# dump and print: filters for looking at a stream while writing a script.

cdef class DumpFilter(Filter):
    """dump(tag=''): prints every event that passes, for debugging; passes them on unchanged."""

    def __init__(self, tag=''):
        self.tag = tag

    cdef Filter clone(self):
        cdef DumpFilter f = DumpFilter.__new__(DumpFilter)
        f.tag = self.tag
        return f

    cdef int on_event(self, Event evt) except -1:
        tag = self.evaluate(self.tag)
        prefix = '[%s] ' % tag if tag else ''
        print(prefix + repr(evt), file=_sys.stdout, flush=True)
        return self.output(evt)


cdef class PrintFilter(Filter):
    """print(): writes the Data that passes to standard output as text; passes every event on."""

    cdef Filter clone(self):
        return PrintFilter.__new__(PrintFilter)

    cdef int on_event(self, Event evt) except -1:
        if isinstance(evt, Data):
            _sys.stdout.write((<Data>evt).to_str(errors='replace'))
            _sys.stdout.flush()
        return self.output(evt)
