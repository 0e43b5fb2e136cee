"""Configuration shows its filters: each filter method is written in a class body under pipyx/filters/, has a
docstring, and Configuration inherits it, so help(), inspect, an IDE and a reader all find it, and importing
pipyx.config is enough to have them all.

What is expected comes from the filter modules' source, read the way an IDE reads it (ast, no import): a method
that only exists because some import attached it at run time fails here.
"""
import ast
import importlib
import inspect
import json
import os
import pkgutil
import pydoc
import re
import subprocess
import sys

import pipyx
import pipyx.filters
from pipyx.config import Configuration
from pipyx.testing import layout

from test.helpers import missing_peer

PACKAGE = os.path.dirname(os.path.abspath(pipyx.__file__))
PACKAGE_PARENT = os.path.dirname(PACKAGE)
REFERENCE = os.path.join(PACKAGE_PARENT, 'docs', 'reference.md')


def filter_modules():
    """The modules of pipyx/filters/ that hold filters: all but the private helpers (_options)."""
    return sorted(m.name for m in pkgutil.iter_modules(pipyx.filters.__path__) if not m.name.startswith('_'))


def written_methods(path):
    """{class name: {public method name: its docstring}} as written in the class bodies of the file at path."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    return {node.name: {fn.name: ast.get_docstring(fn) for fn in node.body
                        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and not fn.name.startswith('_')}
            for node in tree.body if isinstance(node, ast.ClassDef)}


def module_path(name):
    """The source file of pipyx.<name>, found without importing it."""
    return os.path.join(PACKAGE, *name.split('.')) + '.py'


def filter_methods():
    """{method name: (module, class name, docstring)} of every filter method written under pipyx/filters/."""
    found = {}
    for m in filter_modules():
        for cls, methods in written_methods(module_path('filters.' + m)).items():
            for name, doc in methods.items():
                assert name not in found, '%s is written twice: in %s and in %s' % (name, found[name][0], m)
                found[name] = (m, cls, doc)
    return found


CORE = written_methods(module_path('builder'))['PipelineBuilder']
FILTERS = filter_methods()


def public_methods(cls):
    return {n for n in dir(cls) if not n.startswith('_') and callable(getattr(cls, n))}


def test_every_filter_module_holds_a_class_with_its_filter_methods():
    for m in filter_modules():
        classes = written_methods(module_path('filters.' + m))
        assert classes, 'pipyx/filters/%s.py writes no class with its filter method' % m
        for cls, methods in classes.items():
            assert methods, 'pipyx/filters/%s.py: %s has no filter method' % (m, cls)
            assert getattr(importlib.import_module('pipyx.filters.' + m), cls) in Configuration.__mro__, \
                'Configuration does not inherit pipyx.filters.%s.%s' % (m, cls)


def test_every_filter_method_has_a_docstring():
    missing = sorted(name for name, (_, _, doc) in FILTERS.items() if not doc)
    assert not missing, 'filter methods without a docstring: %s' % ', '.join(missing)
    assert all(doc for doc in CORE.values())


def test_configuration_has_exactly_the_methods_written_in_its_classes():
    assert public_methods(Configuration) == set(FILTERS) | set(CORE)
    for name, (m, cls, doc) in FILTERS.items():
        owner = next(k for k in Configuration.__mro__ if name in vars(k))
        assert (owner.__module__, owner.__name__) == ('pipyx.filters.' + m, cls), \
            '%s comes from %s.%s, not from the class that writes it' % (name, owner.__module__, owner.__name__)
        assert inspect.getdoc(getattr(Configuration, name)) == inspect.cleandoc(doc)


def test_importing_pipyx_config_alone_gives_every_filter_method():
    code = ('import json, pipyx.config as c\n'
            'print(json.dumps(sorted(n for n in dir(c.Configuration) if not n.startswith("_"))))')
    env = dict(os.environ, PYTHONPATH=PACKAGE_PARENT)
    out = subprocess.run([sys.executable, '-c', code], env=env, cwd=PACKAGE_PARENT, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert set(json.loads(out.stdout)) == set(FILTERS) | set(CORE)


def test_help_lists_each_filter_method_with_its_signature():
    text = pydoc.render_doc(Configuration, renderer=pydoc.plaintext)
    for name in FILTERS:
        assert name + str(inspect.signature(getattr(Configuration, name))) in text, name


def test_a_sub_pipeline_builder_has_every_filter_method():
    seen = []
    layout(lambda p: p.demux_http().to(lambda q: seen.append(q) or q.serve_http('x')))
    assert type(seen[0]) is Configuration


def test_an_editor_completes_every_filter_method_on_a_chain():
    try:
        import jedi
    except ImportError:
        missing_peer('jedi (pip install jedi) is not installed')
    source = "from pipyx import pipy\np = pipy().listen(8080).demux_http().to('a').serve_http('x')\np."
    project = jedi.Project(PACKAGE_PARENT, sys_path=[PACKAGE_PARENT] + sys.path)
    script = jedi.Script(source, path=os.path.join(PACKAGE_PARENT, 'script.py'), project=project)
    completions = {c.name for c in script.complete(3, 2)}
    assert set(FILTERS) | set(CORE) <= completions
    signature, = jedi.Script('from pipyx import pipy\npipy().serve_http(', project=project).get_signatures(2, 18)
    assert [p.name for p in signature.params][:1] == ['handler']


def test_the_reference_has_a_section_named_after_each_filter_method():
    headings, in_code = [], False
    with open(REFERENCE) as f:
        for line in f:
            if line.startswith('```'):
                in_code = not in_code
            elif line.startswith('#') and not in_code:
                headings.append(line)
    missing = sorted(name for name in FILTERS
                     if not any(re.search(r'(?<!\w)%s(?!\w)' % name, h) for h in headings))
    assert not missing, 'docs/reference.md has no heading naming %s' % ', '.join(missing)
