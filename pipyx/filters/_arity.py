"""How many arguments a script's callable wants: link() and on_start() take a callable that may want one or none."""
import inspect


def takes_no_arguments(fn):
    """True when fn can be called without arguments and wants none (a lambda of no parameters, a function whose
    parameters all have defaults is taken to want none too); False when it needs one, or cannot be inspected."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    required = [p for p in params
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]
    varargs = any(p.kind is p.VAR_POSITIONAL for p in params)
    return not required and not varargs
