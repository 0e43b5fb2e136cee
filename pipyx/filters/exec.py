"""exec: a stream through a child process."""
from .._native import DEFAULT_EXEC_BUFFER_LIMIT, ExecFilter
from ..builder import PipelineBuilder


class ExecMixin(PipelineBuilder):
    def exec(self, command, *, stderr='inherit', env=None, on_start=None, on_exit=None,
             buffer_limit=DEFAULT_EXEC_BUFFER_LIMIT):
        """Starts a child process at the stream's first event: command is a shell command (str), an argv (list,
        no shell), or a callable returning one. The stream's Data goes to the child's stdin and the child's stdout
        comes out as Data; other input events are dropped. An incoming StreamEnd closes the child's stdin so it can
        finish (one with an error kills it at once). Once its stdout is closed and it has exited, the stream ends:
        with StreamEnd() for exit status 0, otherwise with StreamEnd('RuntimeError'), the status logged. The child
        (with its process group) is killed when the pipeline goes away first.

        stderr: 'inherit' (pipyx's stderr), 'output' (merged into the output) or 'capture' (kept, up to 64 KiB, for
        on_exit). env: variables added to the child's environment (a dict, or a callable returning one).
        on_start(pid) is called once the child runs; on_exit(status) — on_exit(status, stderr Data) with
        stderr='capture' — when it has exited, status being negative for a signal: what it returns goes out
        before the StreamEnd (and in place of it when it is or ends with one). buffer_limit: stdin bytes held
        while the child starts before the stream's source is paused."""
        return self.append(ExecFilter(command, stderr, env, on_start, on_exit, buffer_limit))
