"""dump and print: what goes through, written out, and passed on unchanged."""
from pipyx import Data, MessageEnd, MessageStart, StreamEnd
from pipyx.testing import pipeline
from test.helpers.streams import feed


def test_dump_prints_each_event_and_passes_it_on(capsys):
    p, c = pipeline(lambda p: p.dump('tag1').dump())
    events = [MessageStart({'a': 1}), Data(b'xy'), MessageEnd(), StreamEnd('ReadError')]
    feed(p, events)
    assert all(a is b for a, b in zip(c.events, events)) and len(c.events) == 4
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["[tag1] MessageStart({'a': 1})", "MessageStart({'a': 1})",
                     "[tag1] Data(b'xy')", "Data(b'xy')",
                     '[tag1] MessageEnd(None)', 'MessageEnd(None)',
                     "[tag1] StreamEnd('ReadError')", "StreamEnd('ReadError')"]


def test_dump_tag_callable(capsys):
    n = iter(range(100))
    p, c = pipeline(lambda p: p.dump(lambda: 'n%d' % next(n)))
    feed(p, [Data(b'a'), StreamEnd()])
    assert capsys.readouterr().out.splitlines() == ["[n0] Data(b'a')", '[n1] StreamEnd()']


def test_print_writes_data_as_text(capsys):
    p, c = pipeline(lambda p: p.print())
    events = [MessageStart(), Data(b'hello '), Data('w\u00f6rld'.encode()), Data(b'\xff!'), MessageEnd(), StreamEnd()]
    feed(p, events)
    assert capsys.readouterr().out == 'hello w\u00f6rld\ufffd!'
    assert all(a is b for a, b in zip(c.events, events)) and len(c.events) == len(events)
