"""pipyx/_native.pyi tells the truth about the built module: every public name it exports is declared and nothing
else, each class with its bases, public methods and attributes, each function and method with its parameters, and a
docstring wherever the native code has one.

When native/ changes, a failure here lists what to declare or remove in pipyx/_native.pyi.
"""
import ast
import inspect
import os
import re
import types

import pytest

import pipyx
from pipyx import _native

STUB = os.path.join(os.path.dirname(os.path.abspath(pipyx.__file__)), '_native.pyi')

# Special methods that say what an object can do (be called, measured, indexed, compared...): a stub declares the
# ones a class defines. The rest of a Cython class's special methods (__reduce__, the comparisons Cython derives
# from __eq__, ...) are machinery.
PROTOCOL = {'__init__', '__call__', '__len__', '__bytes__', '__bool__', '__iter__', '__getitem__', '__setitem__',
            '__delitem__', '__contains__', '__eq__', '__hash__', '__getattr__', '__setattr__'}

SLOT_WRAPPERS = (types.WrapperDescriptorType, types.MethodDescriptorType)


def parse_stub():
    with open(STUB) as f:
        return ast.parse(f.read(), STUB)


def declared_names(body):
    """{name: node} of what a module or class body declares (imports and private names left out)."""
    names = {}
    for node in body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            names.setdefault(node.name, node)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = node
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    names[t.id] = node
    return {k: v for k, v in names.items() if not k.startswith('_') or k in PROTOCOL}


STUB_TREE = parse_stub()
STUB_NAMES = declared_names(STUB_TREE.body)
STUB_CLASSES = {k: v for k, v in STUB_NAMES.items() if isinstance(v, ast.ClassDef)}
EXPORTED = {n: getattr(_native, n) for n in dir(_native) if not n.startswith('_')}
CLASSES = {n: o for n, o in EXPORTED.items() if isinstance(o, type)}


def base_name(node):
    if isinstance(node, ast.Subscript):
        node = node.value
    return node.attr if isinstance(node, ast.Attribute) else node.id


def is_property(fn):
    return any(base_name(d) == 'property' or (isinstance(d, ast.Attribute) and d.attr in ('setter', 'deleter'))
               for d in fn.decorator_list)


def stub_members(cls_name):
    """{name: node} declared by the stub class and its ancestors in the stub."""
    members = {}
    node = STUB_CLASSES.get(cls_name)
    while node is not None:
        for k, v in declared_names(node.body).items():
            members.setdefault(k, v)
        bases = [base_name(b) for b in node.bases]
        node = STUB_CLASSES.get(bases[0]) if bases else None
    return members


def skeleton(name, obj):
    """A line to start the stub's declaration of something the stub lacks."""
    if isinstance(obj, type):
        return 'class %s(%s): ...' % (name, ', '.join(b.__name__ for b in obj.__bases__ if b is not object))
    if callable(obj):
        return 'def %s%s: ...' % (name, runtime_signature_text(obj) or '(...)')
    return '%s: %s' % (name, type(obj).__name__)


def runtime_signature_text(obj):
    try:
        return str(inspect.signature(obj))
    except (TypeError, ValueError):
        return None


def doc_body(doc):
    """A native docstring without the signature line Cython's embedsignature puts first."""
    if not doc:
        return ''
    first, _, rest = doc.partition('\n')
    return rest.strip() if re.match(r'^[\w.]+\(.*\)( -> .*)?$', first) else doc.strip()


def test_every_exported_name_is_declared_and_nothing_more():
    undeclared = sorted(set(EXPORTED) - set(STUB_NAMES))
    unexported = sorted(set(STUB_NAMES) - set(EXPORTED))
    assert not undeclared and not unexported, (
        'pipyx/_native.pyi is out of date.\nTo declare:\n  %s\nTo remove (not exported any more): %s' % (
            '\n  '.join(skeleton(n, EXPORTED[n]) for n in undeclared) or '-', ', '.join(unexported) or '-'))


# The tests below compare what both sides have; a name only one side has is the test above's failure.
@pytest.mark.parametrize('name', sorted(set(EXPORTED) & set(STUB_NAMES)))
def test_declared_as_what_it_is(name):
    obj, node = EXPORTED[name], STUB_NAMES[name]
    if isinstance(obj, type):
        assert isinstance(node, ast.ClassDef), '%s is a class' % name
        assert [base_name(b) for b in node.bases] == [b.__name__ for b in obj.__bases__ if b is not object], \
            '%s derives from %s' % (name, ', '.join(b.__name__ for b in obj.__bases__))
        if doc_body(obj.__doc__):
            assert ast.get_docstring(node), '%s has a docstring in native/; give it one in the stub' % name
    elif callable(obj):
        assert isinstance(node, ast.FunctionDef), '%s is a function' % name
        check_signature(name, node, inspect.signature(obj))
    else:
        assert isinstance(node, ast.AnnAssign), '%s is a constant: declare it with its type' % name


@pytest.mark.parametrize('name', sorted(set(CLASSES) & set(STUB_CLASSES)))
def test_every_public_member_of_a_class_is_declared(name):
    cls = CLASSES[name]
    members = stub_members(name)
    # What a class gets from a base outside the module (Headers from dict) is that base's business.
    outside = set().union(*(dir(b) for b in cls.__mro__[1:] if b.__module__ != _native.__name__))
    public = {m for m in dir(cls) if not m.startswith('_')} - outside
    protocol = {m for m in PROTOCOL & set(vars(cls)) if vars(cls)[m] is not None}
    missing = sorted((public | protocol) - set(members))
    assert not missing, '%s: declare %s in pipyx/_native.pyi' % (name, ', '.join(
        '%s%s' % (m, runtime_signature_text(getattr(cls, m)) or '') for m in missing))
    own = declared_names(STUB_CLASSES[name].body)
    stale = sorted(m for m in own if not hasattr(cls, m) or (m in PROTOCOL and m not in protocol))
    assert not stale, '%s has no %s: remove it from pipyx/_native.pyi' % (name, ', '.join(stale))


@pytest.mark.parametrize('name', sorted(set(CLASSES) & set(STUB_CLASSES)))
def test_methods_take_what_the_stub_says(name):
    cls, node = CLASSES[name], STUB_CLASSES[name]
    for fn in node.body:
        if not isinstance(fn, ast.FunctionDef) or is_property(fn):
            continue
        where = '%s.%s' % (name, fn.name)
        runtime = vars(cls).get(fn.name)
        if runtime is None:
            continue                 # inherited or gone: test_every_public_member_of_a_class_is_declared says
        if isinstance(runtime, staticmethod):
            runtime = runtime.__func__
        if isinstance(runtime, SLOT_WRAPPERS):
            if fn.name == '__init__':
                # A cdef class's __init__ is a slot: embedsignature puts its parameters in the class docstring.
                sig = signature_from_doc(cls)
                assert sig is not None, '%s: the docstring does not start with %s(...)' % (name, name)
                check_signature(where, fn, sig, skip_self=True)
            continue                 # any other slot has a generic signature: there is nothing more to compare
        check_signature(where, fn, inspect.signature(runtime))
        if doc_body(runtime.__doc__):
            assert ast.get_docstring(fn), '%s has a docstring in native/; give it one in the stub' % where


def signature_from_doc(cls):
    """The __init__ parameters from the class docstring's first line, 'Name(Type arg, arg=default, ...)'."""
    first = (cls.__doc__ or '').partition('\n')[0]
    m = re.match(r'^%s\((.*)\)$' % re.escape(cls.__name__), first)
    if m is None:
        return None
    params = []
    for part in split_params(m.group(1)):
        left, eq, _ = part.partition('=')
        word = left.split()[-1]
        if word == '*':
            params.append(('*', 'marker', False))
        elif word.startswith('**'):
            params.append((word[2:], 'VAR_KEYWORD', False))
        elif word.startswith('*'):
            params.append((word[1:], 'VAR_POSITIONAL', False))
        else:
            params.append((word, 'positional', bool(eq)))
    kinds, keyword_only = [], False
    for p in params:
        if p[1] == 'marker':
            keyword_only = True
        elif keyword_only and p[1] == 'positional':
            kinds.append((p[0], 'KEYWORD_ONLY', p[2]))
        else:
            kinds.append(p)
            keyword_only = keyword_only or p[1] == 'VAR_POSITIONAL'
    return kinds


def split_params(text):
    parts, depth, quote, current = [], 0, None, ''
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in '\'"':
            quote = ch
        elif ch in '([{':
            depth += 1
        elif ch in ')]}':
            depth -= 1
        elif ch == ',' and depth == 0:
            parts.append(current.strip())
            current = ''
            continue
        current += ch
    if current.strip():
        parts.append(current.strip())
    return parts


def stub_params(fn, skip_self=False):
    a = fn.args
    positional = a.posonlyargs + a.args
    defaults = [False] * (len(positional) - len(a.defaults)) + [True] * len(a.defaults)
    params = [(p.arg, 'positional', d) for p, d in zip(positional, defaults)]
    if a.vararg:
        params.append((a.vararg.arg, 'VAR_POSITIONAL', False))
    params += [(p.arg, 'KEYWORD_ONLY', d is not None) for p, d in zip(a.kwonlyargs, a.kw_defaults)]
    if a.kwarg:
        params.append((a.kwarg.arg, 'VAR_KEYWORD', False))
    return params[1:] if skip_self else params


def check_signature(where, fn, runtime, skip_self=False):
    if isinstance(runtime, inspect.Signature):
        runtime = [(p.name, 'positional' if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) else p.kind.name,
                    p.default is not p.empty) for p in runtime.parameters.values()]
    declared = stub_params(fn, skip_self)
    assert declared == runtime, '%s takes %s, the stub says %s' % (where, runtime, declared)
