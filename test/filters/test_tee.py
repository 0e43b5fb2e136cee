"""tee: a copy of the stream's bytes in a file, the events unchanged."""
import socket

from pipyx import Data, MessageEnd, MessageStart, StreamEnd
from pipyx.testing import pipeline
from test.helpers import free_port, wait_for
from test.helpers.streams import feed, summary


def test_tee_writes_data_and_passes_everything(tmp_path):
    path = tmp_path / 'sub' / 'dir' / 'copy.bin'
    p, c = pipeline(lambda p: p.tee(str(path)))
    events = [MessageStart({'a': 1}), Data(b'hello '), Data(b'world'), MessageEnd(), StreamEnd()]
    feed(p, events)
    assert c.events == events
    assert path.read_bytes() == b'hello world'


def test_tee_truncates_unless_append(tmp_path):
    path = tmp_path / 'log'
    path.write_bytes(b'old;')
    for append in (True, False):
        p, c = pipeline(lambda p: p.tee(str(path), append=append))
        feed(p, [Data(b'new;'), StreamEnd()])
    assert path.read_bytes() == b'new;'
    p, c = pipeline(lambda p: p.tee(lambda: str(path), append=True))
    feed(p, [Data(b'more;'), StreamEnd()])
    assert path.read_bytes() == b'new;more;'


def test_tee_stops_copying_at_max_size_and_the_stream_goes_on(tmp_path):
    path = tmp_path / 'capped'
    p, c = pipeline(lambda p: p.tee(str(path), max_size=10))
    feed(p, [Data(b'12345'), Data(b'67890'), Data(b'x'), Data(b'y'), StreamEnd()])
    assert path.read_bytes() == b'1234567890'
    assert summary(c.events) == [('data', b'1234567890xy'), ('stream_end', None)]


def test_tee_to_an_unwritable_path_passes_the_stream_on(tmp_path):
    (tmp_path / 'file').write_bytes(b'')
    p, c = pipeline(lambda p: p.tee(str(tmp_path / 'file' / 'under-a-file')))
    feed(p, [Data(b'a'), Data(b'b'), StreamEnd()])
    assert summary(c.events) == [('data', b'ab'), ('stream_end', None)]


def test_tee_records_what_clients_send(run_pipyx, tmp_path):
    port = free_port()
    run_pipyx('''
        from pipyx import pipy, ctx
        import itertools
        n = itertools.count()
        pipy().listen(%d).tee(lambda: %r %% next(n)).replace_data(lambda d: d.to_bytes().upper())
    ''' % (port, str(tmp_path / 'conn-%d.log')), port=port)
    with socket.create_connection(('127.0.0.1', port), timeout=5) as s:
        s.sendall(b'abc')
        assert s.recv(10) == b'ABC'
        s.sendall(b'def')
        assert s.recv(10) == b'DEF'
    assert wait_for(lambda: (tmp_path / 'conn-0.log').read_bytes() == b'abcdef', timeout=5)


def rotated(directory, base):
    return sorted(p.name for p in directory.iterdir() if p.name.endswith('-' + base) and p.name[:4].isdigit())


def test_tee_rotates_by_size_and_keeps_max_file_count(tmp_path):
    path = tmp_path / 'access.log'
    p, c = pipeline(lambda p: p.tee(str(path), max_file_size=10, max_file_count=2))
    feed(p, [Data(b'%d-aaaa;' % i) for i in range(5)] + [StreamEnd()])
    assert path.read_bytes() == b'4-aaaa;'
    names = rotated(tmp_path, 'access.log')
    assert len(names) == 2                                  # four rotated, the two oldest removed
    assert [(tmp_path / n).read_bytes() for n in names] == [b'2-aaaa;', b'3-aaaa;']
    assert all(len(n.split('-')) == 8 for n in names)      # YYYY-mm-dd-HH-MM-SS-mmm-access.log


def test_tee_shared_streams_write_one_file_and_rotate_by_interval(tmp_path):
    import time
    path = tmp_path / 'shared.log'
    layout_text = lambda p: p.tee(str(path), shared=True, rotate_interval=0.2)  # noqa: E731
    first, _ = pipeline(layout_text)
    second, _ = pipeline(layout_text)
    feed(first, [Data(b'one;'), StreamEnd()])
    feed(second, [Data(b'two;')])                          # the first stream's end did not close the shared file
    assert path.read_bytes() == b'one;two;'
    time.sleep(0.3)
    feed(second, [Data(b'three;'), StreamEnd()])
    assert path.read_bytes() == b'three;'
    (old,) = rotated(tmp_path, 'shared.log')
    assert (tmp_path / old).read_bytes() == b'one;two;'


def test_tee_rotation_options_must_not_be_negative():
    import pytest
    with pytest.raises(ValueError, match='negative'):
        pipeline(lambda p: p.tee('x', max_file_size=-1))
