"""Helpers for testing filters without sockets: build a layout from Python and push events through it."""
from ._native import EventCollector
from .config import Configuration, Program


def pipeline(build):
    """Builds a layout with build(p) (p is a Configuration to chain filters on) and starts one instance of it.
    Returns (pipeline, collector): pipeline.input(event) feeds it; collector.events holds what came out."""
    program = Program('<test>')
    module = program.module_for('<test>')
    layout = module.new_layout('test', None)
    build(Configuration(module, layout))
    program.resolve()
    collector = EventCollector()
    return layout.start(collector), collector
