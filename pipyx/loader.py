"""Loading a script and the modules it uses into a Program, with errors reported as file:line."""
import os
import sys

from .program import Program, current_program, set_program
from .errors import ScriptError, user_frame


def load_module(program, path):
    """Executes one script file, once, as a module of program."""
    path = os.path.abspath(path)
    if path in program.modules or path in program.loading:
        return
    try:
        with open(path, 'rb') as f:
            source = f.read()
    except OSError as e:
        raise ScriptError('cannot read script: %s' % e.strerror, path)
    program.module_for(path)
    program.loading.append(path)
    directory = os.path.dirname(path)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    namespace = {'__name__': '__pipyx_main__' if path == program.entry else '__pipyx_module__', '__file__': path}
    try:
        code = compile(source, path, 'exec')
        exec(code, namespace)
    except ScriptError:
        raise
    except SyntaxError as e:
        raise ScriptError('SyntaxError: %s' % e.msg, e.filename or path, e.lineno)
    except (Exception, SystemExit) as e:
        # A script that calls sys.exit() while loading is a script that did not load, not a reason to stop pipyx.
        where = user_frame(e) or (path, None)
        raise ScriptError('%s: %s' % (type(e).__name__, e), *where) from e
    finally:
        program.loading.pop()


def load_program(path=None, expression=None):
    """Loads a script file (or directory with main.py), or an expression given with -e; returns the Program."""
    if expression is not None:
        entry = '<expression>'
    else:
        if os.path.isdir(path):
            path = os.path.join(path, 'main.py')
        entry = os.path.abspath(path)
        if not os.path.exists(entry):
            raise ScriptError('no such script: %s' % path)
    program = Program(entry)
    previous = current_program()
    set_program(program)
    try:
        if expression is not None:
            run_expression(program, expression)
        else:
            load_module(program, entry)
        program.resolve()
    finally:
        set_program(previous)
    if not program.listens and not program.jobs:
        raise ScriptError('the script listens on no port and has no task: add pipy().listen(PORT)... or '
                          'pipy().task()...', entry)
    return program


def run_expression(program, expression):
    import pipyx
    namespace = {k: getattr(pipyx, k) for k in pipyx.__all__}
    program.module_for('<expression>')
    try:
        code = compile(expression, '<expression>', 'exec')
        exec(code, namespace)
    except SyntaxError as e:
        raise ScriptError('SyntaxError: %s' % e.msg, '<expression>', e.lineno)
    except ScriptError:
        raise
    except Exception as e:
        raise ScriptError('%s: %s' % (type(e).__name__, e), '<expression>', 1) from e
