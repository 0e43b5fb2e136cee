"""swap and Hub: streams exchanging their events through a hub."""
import socket
import time

import pytest

from pipyx import Data, Hub, StreamEnd
from pipyx.config import ScriptError
from pipyx.testing import layout as layout_with, pipeline
from test.filters.flow_support import flow  # noqa: F401  (the shared server fixture)
from test.helpers.streams import feed, start, summary


def test_swap_sends_each_partys_events_to_the_others():
    hub = Hub()
    layout = layout_with(lambda p: p.swap(hub))
    (a, ca), (b, cb), (c, cc) = start(layout), start(layout), start(layout)
    feed(a, [Data(b'from a')])
    feed(b, [Data(b'from b')])
    feed(c, [Data(b'')])                              # c joins with its first event
    feed(a, [Data(b'again')])
    assert summary(ca.events) == [('data', b'from b')]
    assert summary(cb.events) == [('data', b'again')]  # 'from a' came when a was alone
    assert summary(cc.events) == [('data', b'again')]
    assert len(hub) == 3
    b.close()
    assert len(hub) == 2


def test_swap_by_name_shares_one_hub_per_script():
    layout = layout_with(lambda p: p.swap('room'))
    (a, ca), (b, _) = start(layout), start(layout)
    feed(a, [Data(b'')])
    feed(b, [Data(b'hi'), StreamEnd()])
    assert summary(ca.events) == [('data', b'hi'), ('stream_end', None)]


def test_swap_waits_for_a_hub():
    hub = Hub()
    chosen = [None]
    layout = layout_with(lambda p: p.swap(lambda: chosen[0]))
    (a, _), (b, cb) = start(layout), start(layout)
    feed(a, [Data(b'early')])
    chosen[0] = hub
    feed(b, [Data(b'')])
    feed(a, [Data(b'late')])
    # a joined at its second event, and sent what it had held
    assert summary(cb.events) == [('data', b'earlylate')]
    assert len(hub) == 2


def test_swap_callable_returning_something_else_ends_the_stream():
    p, c = pipeline(lambda p: p.swap(lambda: 42))
    feed(p, [Data(b'x')])
    assert summary(c.events) == [('stream_end', 'RuntimeError')]


def test_swap_needs_a_hub():
    with pytest.raises(ScriptError):
        pipeline(lambda p: p.swap(42))


def test_swap_over_connections(flow):
    a = socket.create_connection(('127.0.0.1', flow.p_swap), timeout=5)
    b = socket.create_connection(('127.0.0.1', flow.p_swap), timeout=5)
    try:
        a.sendall(b'\n')
        time.sleep(0.2)                               # a is on the hub
        b.sendall(b'\n')
        assert a.recv(100) == b'\n'                  # so is b
        got = b''
        a.sendall(b'hello b')
        while b'hello b' not in got:
            got += b.recv(100)
        b.sendall(b'hi a')
        got = b''
        while b'hi a' not in got:
            got += a.recv(100)
    finally:
        a.close()
        b.close()
