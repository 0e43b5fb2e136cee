"""dummy: everything dropped but the stream's end."""
import socket

from pipyx import Data, MessageEnd, MessageStart, StreamEnd
from pipyx.testing import pipeline
from test.filters.flow_support import flow  # noqa: F401  (the shared server fixture)
from test.helpers.streams import feed, summary


def test_dummy_drops_all_but_the_end():
    p, c = pipeline(lambda p: p.dummy())
    feed(p, [MessageStart(), Data(b'a'), MessageEnd(), StreamEnd('ReadError')])
    assert summary(c.events) == [('stream_end', 'ReadError')]


def test_dummy_on_a_connection_answers_nothing_and_still_ends(flow):
    with socket.create_connection(('127.0.0.1', flow.p_dummy), timeout=5) as s:
        s.sendall(b'anyone?')
        s.settimeout(0.3)
        try:
            assert s.recv(100) == b''
            quiet = False
        except socket.timeout:
            quiet = True
        assert quiet
        s.settimeout(5)
        s.shutdown(socket.SHUT_WR)
        assert s.recv(100) == b''                          # the end went through: pipyx closed its side
