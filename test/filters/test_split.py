"""split: bodies cut into messages at a separator, however the bytes arrive."""
import socket

import pytest
from hypothesis import given, settings, strategies as st

from pipyx import Data, MessageEnd, MessageStart, StreamEnd
from pipyx.testing import layout, pipeline
from test.helpers import free_port
from test.helpers.streams import feed, split_at, summary


def messages(events):
    """The bodies of the messages in events, in order; asserts every message is whole and has no head."""
    out, body = [], None
    for e in events:
        if isinstance(e, MessageStart):
            assert body is None and e.head is None
            body = b''
        elif isinstance(e, Data):
            assert body is not None
            body += e.to_bytes()
        elif isinstance(e, MessageEnd):
            out.append(body)
            body = None
    assert body is None
    return out


def test_split_lines_of_one_message():
    p, c = pipeline(lambda p: p.split(b'\n'))
    feed(p, [MessageStart({'h': 1}), Data(b'one\ntwo\nthr'), Data(b'ee'), MessageEnd(), StreamEnd()])
    assert messages(c.events) == [b'one', b'two', b'three']
    assert isinstance(c.events[-1], StreamEnd)


def test_split_keeps_empty_pieces_like_bytes_split():
    p, c = pipeline(lambda p: p.split(','))
    feed(p, [Data(b',a,,b,'), StreamEnd()])
    assert messages(c.events) == b',a,,b,'.split(b',')


def test_split_separator_across_chunks_is_found_and_dropped():
    p, c = pipeline(lambda p: p.split(b'\r\n\r\n'))
    feed(p, [Data(b'head\r'), Data(b'\n'), Data(b'\r'), Data(b'\nbody\r\n'), Data(b'!'), MessageEnd()])
    assert messages(c.events) == [b'head', b'body\r\n!']


def test_split_streams_bytes_without_waiting_for_the_separator():
    # What cannot be the start of a separator goes out as it comes.
    p, c = pipeline(lambda p: p.split(b'--'))
    feed(p, [MessageStart(), Data(b'abc-')])
    assert summary(c.events) == [('start', None), ('data', b'abc')]
    feed(p, [Data(b'x')])
    assert summary(c.events) == [('start', None), ('data', b'abc-x')]


def test_split_each_input_message_separately():
    p, c = pipeline(lambda p: p.split(b';'))
    feed(p, [MessageStart(), Data(b'a;b'), MessageEnd(), MessageStart(), Data(b'c'), MessageEnd(), StreamEnd()])
    assert messages(c.events) == [b'a', b'b', b'c']


def test_split_separator_from_a_callable_per_message():
    seps = iter([b'|', b'#'])
    p, c = pipeline(lambda p: p.split(lambda: next(seps)))
    feed(p, [Data(b'a|b#c'), MessageEnd(), Data(b'd|e#f'), MessageEnd()])
    assert messages(c.events) == [b'a', b'b#c', b'd|e', b'f']


@pytest.mark.parametrize('bad', [b'', b'x' * 1025, 42])
def test_split_rejects_a_bad_separator_when_built(bad):
    with pytest.raises((ValueError, TypeError)):
        layout(lambda p: p.split(bad))


def test_split_bad_separator_from_a_callable_ends_the_stream():
    p, c = pipeline(lambda p: p.split(lambda: b''))
    feed(p, [Data(b'abc'), MessageEnd(), StreamEnd()])
    assert summary(c.events) == [('stream_end', 'RuntimeError')]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.binary(min_size=1, max_size=5), st.lists(st.integers(0, 200), max_size=12))
def test_split_equals_bytes_split_however_the_bytes_arrive(data, sep, cuts):
    # Bytes over a tiny alphabet, so separators and their near misses are frequent.
    data = bytes(b % 3 for b in data)
    sep = bytes(b % 3 for b in sep)
    p, c = pipeline(lambda p: p.split(sep))
    feed(p, [Data(x) for x in split_at(data, cuts)] or [Data(b'')])
    feed(p, [MessageEnd(), StreamEnd()])
    assert messages(c.events) == data.split(sep)


def test_split_lines_from_a_socket(run_pipyx):
    # Each line a client sends comes back as its own reply, numbered.
    port = free_port()
    run_pipyx('''
        from pipyx import pipy, ctx, Data
        pipy(n=0).listen(%d).split(b'\\n').replace_message(lambda m: lines(m))
        def lines(m):
            ctx.n += 1
            return Data(b'%%d:%%s\\n' %% (ctx.n, m.body.to_bytes()))
    ''' % port, port=port)
    with socket.create_connection(('127.0.0.1', port), timeout=5) as s:
        s.sendall(b'alpha\nbe')
        s.sendall(b'ta\ngamma\n')
        got = b''
        while got.count(b'\n') < 3:
            got += s.recv(1024)
    assert got == b'1:alpha\n2:beta\n3:gamma\n'
