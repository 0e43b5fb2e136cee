"""The fault tests' upstreams: each started through this fixture is stopped when its test ends."""
import pytest

from .upstreams import ScriptedUpstream


@pytest.fixture
def upstreams():
    started = []

    def start(behaviour):
        u = ScriptedUpstream(behaviour)
        started.append(u)
        return u
    yield start
    for u in started:
        u.stop()
