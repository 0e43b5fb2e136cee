"""Helpers for testing filters without sockets: build a layout from Python and push events through it."""
from ._native import EventCollector
from .config import Configuration
from .program import Program


def layout(build, **context_variables):
    """Builds a layout with build(p) (p is a Configuration to chain filters on; p.pipeline(name) adds named ones)
    in a module declaring context_variables. Start instances with layout.start(output=None, context=None)."""
    program = Program('<test>')
    module = program.module_for('<test>')
    module.scope.declare(context_variables)
    main = module.new_layout('test', None)
    build(Configuration(module, main))
    program.resolve()
    return main


def pipeline(build, **context_variables):
    """One instance of layout(build, ...). Returns (pipeline, collector): pipeline.input(event) feeds it;
    collector.events holds what came out."""
    collector = EventCollector()
    return layout(build, **context_variables).start(collector), collector
