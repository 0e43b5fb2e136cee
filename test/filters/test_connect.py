"""connect: a refused upstream, read_timeout, and idle_timeout on a relayed connection; in front of
test/helpers/backend_app.py.
"""
import time

import pytest

from test.filters.proxy_support import proxy, setup  # noqa: F401  (fixtures)
from test.helpers import FAST_STOP, RELAY, RawClient, backend_stats, closed_within, free_port, json_of, req


def test_upstream_refused_502(proxy):
    t = time.monotonic()
    with RawClient(proxy.p_refused) as c:
        c.send(req('/echo'))
        r = c.read_response()
        assert r.status == 502
        assert time.monotonic() - t < 3
        c.send(req('/echo'))                     # the client connection is still usable
        assert c.read_response().status == 502


def test_read_timeout_504(proxy):
    t = time.monotonic()
    with RawClient(proxy.p_timeout) as c:
        c.send(req('/slow/2000'))
        r = c.read_response()
        took = time.monotonic() - t
        assert r.status == 504
        assert 0.25 <= took < 1.5, took
        c.send(req('/slow/50'))                  # a fast enough answer is not cut off
        r = c.read_response()
        assert r.status == 200 and r.body == b'slow'


def test_read_timeout_not_triggered_by_fast_pipelined(proxy):
    with RawClient(proxy.p_timeout) as c:
        c.send(req('/slow/200') * 3)
        assert [c.read_response().status for _ in range(3)] == [200, 200, 200]


# ------------------------------------------------------------------------------------------------------ idle_timeout

@pytest.fixture
def idle_relay(run_pipyx, backend):
    port = free_port()
    p = run_pipyx(RELAY % {'port': port, 'backend': backend, 'connect_opts': ', idle_timeout=0.5'}, port=port,
                  args=FAST_STOP)
    return port, p


def test_connect_idle_timeout_closes_silent_relay(idle_relay, backend):
    port, p = idle_relay
    with RawClient(port) as c:
        c.send(req('/conn'))
        conn_id = json_of(c.read_response())['conn']
        took = closed_within(c.sock, 3.0)
    print('connect idle_timeout=0.5: the client saw EOF after %s s of silence' % took)
    assert took is not None, 'a silent relayed connection is still open after 3 s'
    assert 0.4 <= took <= 1.5, took
    deadline = time.monotonic() + 2
    while conn_id in backend_stats(backend)['open'] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert conn_id not in backend_stats(backend)['open'], 'the upstream side of the relay was left open'


def test_connect_idle_timeout_spares_active_relay(idle_relay):
    port, p = idle_relay
    with RawClient(port) as c:
        t_end = time.monotonic() + 2.0
        n = 0
        while time.monotonic() < t_end:
            c.send(req('/conn'))
            assert json_of(c.read_response())['requests'] == n + 1
            n += 1
            time.sleep(0.2)
        assert n >= 8


def test_connect_idle_timeout_spares_relay_sending_upstream(idle_relay):
    """Traffic either way counts: a client that keeps sending (here a request head, one line every 0.2 s, that the
    backend reads without answering yet) must not be cut off after idle_timeout."""
    port, p = idle_relay
    with RawClient(port) as c:
        c.send(b'GET /conn HTTP/1.1\r\nHost: localhost\r\n')
        t0 = time.monotonic()
        i = 0
        while time.monotonic() - t0 < 2.0:
            time.sleep(0.2)
            try:
                c.send(b'X-Line-%d: %s\r\n' % (i, b'v' * 10))
            except OSError as e:
                raise AssertionError('relay closed %.2fs into a steady upload: %r' % (time.monotonic() - t0, e))
            i += 1
        c.send(b'\r\n')
        try:
            r = c.read_response()
        except EOFError as e:
            raise AssertionError('relay closed %.2fs into a steady upload: %s' % (time.monotonic() - t0, e))
        assert json_of(r)['requests'] == 1
