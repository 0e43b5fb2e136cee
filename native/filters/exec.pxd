# Declared here, defined in exec.pxi.

# What exec()'s instances share.
cdef class ExecOptions:
    cdef object command                  # a shell command (str), an argv (list), or a callable returning one
    cdef str stderr                      # 'inherit', 'capture' or 'output'
    cdef bint pty                        # stdin and stdout on a pseudo-terminal instead of pipes
    cdef object env
    cdef object on_start
    cdef object on_exit
    cdef Py_ssize_t buffer_limit


# exec(command): the stream through a child process's stdin and stdout.
cdef class ExecFilter(Endpoint):
    cdef ExecOptions opts
    cdef int state                       # EXEC_* in exec.pxi
    cdef object task                     # starting the child
    cdef object stdin                    # the pipe transports
    cdef object stdout
    cdef list pending                    # stdin bytes that came while the child was starting
    cdef Py_ssize_t pending_size
    cdef bint input_ended                # stdin is to be closed (after what is pending)
    cdef bint stdout_ended
    cdef bint stderr_ended               # (when captured)
    cdef bint exited
    cdef bint kill_sent
    cdef object returncode
    cdef bytearray errors                # the child's stderr, when captured (bounded)
    cdef str name
    cdef int pty_fd                      # the terminal's master side (pty=True), or -1
    cdef int pty_child_fd                # its child side, until the child has it
    cdef bytearray pty_out               # stdin bytes the terminal did not take yet
    cdef bint pty_reading
    cdef bint pty_line_open              # the last byte written was not a newline (EOF then takes two ^D)

    cdef Filter clone(self)
    cdef int on_event(self, Event evt) except -1
    cdef int start(self) except -1
    cdef int write_stdin(self, object chunk) except -1
    cdef void end_stdin(self)
    cdef int pty_write(self, object chunk) except -1
    cdef void pty_read_on(self, bint on)
    cdef void pty_close(self)
    cdef int check_ending(self) except -1
    cdef void kill(self)
    cdef void pause_input(self)
    cdef void resume_input(self)
    cdef void shutdown(self)
