"""exec: a stream through a child process."""
from .._native import DEFAULT_EXEC_BUFFER_LIMIT, ExecFilter
from ..builder import PipelineBuilder


class ExecMixin(PipelineBuilder):
    def exec(self, command, *, stderr=None, env=None, on_start=None, on_exit=None,
             buffer_limit=DEFAULT_EXEC_BUFFER_LIMIT, pty=False):
        """Starts a child process at the stream's first event: command is a shell command (str), an argv (list,
        no shell), or a callable returning one. The stream's Data goes to the child's stdin and the child's stdout
        comes out as Data; other input events are dropped. An incoming StreamEnd closes the child's stdin so it can
        finish (one with an error kills it at once). Once its stdout is closed and it has exited, the stream ends:
        with StreamEnd() for exit status 0, otherwise with StreamEnd('RuntimeError'), the status logged. The child
        (with its process group) is killed when the pipeline goes away first.

        stderr: 'inherit' (pipyx's stderr; the default without pty), 'output' (merged into the output; the default
        with pty) or 'capture' (kept, up to 64 KiB, for on_exit). env: variables added to the child's environment (a dict, or a callable returning one).
        on_start(pid) is called once the child runs; on_exit(status) — on_exit(status, stderr Data) with
        stderr='capture' — when it has exited, status being negative for a signal: what it returns goes out
        before the StreamEnd (and in place of it when it is or ends with one). buffer_limit: stdin bytes held
        while the child starts before the stream's source is paused.

        pty: run the child on a pseudo-terminal, as Pipy's exec does: its stdin and stdout (and stderr, unless told
        otherwise) are a terminal (isatty() is true, line editing and ^C work: it is the child's controlling
        terminal), so a program that behaves differently on a terminal (a shell, an interactive prompt, output
        buffered per line) does so. What a terminal does is kept: the stream's input is echoed into the output
        unless the program turns echo off, output lines end with CR LF, and the stream's StreamEnd is an EOF
        (^D) to the child instead of a closed stdin."""
        return self.append(ExecFilter(command, stderr, env, on_start, on_exit, buffer_limit, pty))
