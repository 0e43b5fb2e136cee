"""Data: the chunked byte buffer that carries a stream's bytes (native/data.pxi)."""
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given, settings, strategies as st

from pipyx import Data

SETTINGS = settings(max_examples=200, deadline=None)

chunks_st = st.lists(st.binary(max_size=40), max_size=12)


def make(chunks):
    d = Data()
    for c in chunks:
        d.push(c)
    return d


# ------------------------------------------------------------------ construction and push

def test_empty():
    d = Data()
    assert len(d) == 0
    assert d.size == 0
    assert not d
    assert d.to_bytes() == b''
    assert d.to_str() == ''
    assert d.chunks() == []
    assert bytes(d) == b''


@pytest.mark.parametrize('content, expected', [
    (b'abc', b'abc'),
    ('abc', b'abc'),
    ('d\u00e9j\u00e0 vu \u2603', 'd\u00e9j\u00e0 vu \u2603'.encode('utf-8')),
    (bytearray(b'xyz'), b'xyz'),
    (memoryview(b'mem'), b'mem'),
    (Data(b'other'), b'other'),
])
def test_constructor_accepts(content, expected):
    d = Data(content)
    assert d.to_bytes() == expected
    assert len(d) == d.size == len(expected)
    assert bool(d) is (len(expected) > 0)


def test_push_each_kind_appends_in_order_and_returns_self():
    d = Data(b'ab')
    assert d.push('c\u00e9') is d
    assert d.push(bytearray(b'de')) is d
    assert d.push(Data(b'fg')) is d
    assert d.push(b'h') is d
    assert d.to_bytes() == b'abc\xc3\xa9defgh'
    assert len(d) == 10
    assert [bytes(c) for c in d.chunks()] == [b'ab', b'c\xc3\xa9', b'de', b'fg', b'h']


def test_push_empty_pieces_adds_no_chunks():
    d = Data()
    d.push(b'').push('').push(bytearray()).push(Data())
    assert d.chunks() == []
    assert len(d) == 0
    d.push(b'x').push(b'')
    assert len(d.chunks()) == 1


def test_push_data_with_many_chunks_keeps_all():
    src = make([b'a', b'bc', b'def'])
    d = Data(b'0').push(src)
    assert d.to_bytes() == b'0abcdef'
    assert src.to_bytes() == b'abcdef'          # the source is left alone
    assert len(src) == 6


def test_bytearray_is_copied():
    buf = bytearray(b'hello')
    d = Data(buf)
    buf[0:5] = b'XXXXX'
    assert d.to_bytes() == b'hello'


@pytest.mark.parametrize('bad', [5, 1.5, None.__class__, object(), ['a'], {'a': 1}])
def test_push_rejects_other_types(bad):
    with pytest.raises(TypeError):
        Data().push(bad)


@pytest.mark.parametrize('chunks', [[b'ab'], [b'ab', b'cd', b'e']])
def test_push_into_itself_doubles(chunks):
    # In a child process with capped memory: a buffer that walked its own chunk list while appending to it would
    # never finish (it would grow until the cap, then fail).
    code = textwrap.dedent('''
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        from pipyx import Data
        d = Data()
        for c in %r:
            d.push(c)
        d.push(d)
        print(d.to_bytes().decode())
    ''' % (chunks,))
    try:
        r = subprocess.run([sys.executable, '-c', code], capture_output=True, timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail('Data.push(self) with %d chunks does not return' % len(chunks))
    assert r.returncode == 0, 'Data.push(self) with %d chunks failed: %s' % (len(chunks), r.stderr.decode()[-300:])
    whole = b''.join(chunks).decode()
    assert r.stdout.decode().strip() == whole + whole


# ------------------------------------------------------------------ shift

def test_shift_within_first_chunk():
    d = Data(b'abcdef')
    h = d.shift(2)
    assert h.to_bytes() == b'ab'
    assert d.to_bytes() == b'cdef'
    assert (len(h), len(d)) == (2, 4)


def test_shift_exact_chunk_boundary():
    d = make([b'abc', b'def', b'ghi'])
    h = d.shift(3)
    assert h.to_bytes() == b'abc'
    assert d.to_bytes() == b'defghi'
    assert [bytes(c) for c in d.chunks()] == [b'def', b'ghi']
    h = d.shift(6)
    assert h.to_bytes() == b'defghi'
    assert len(d) == 0 and d.to_bytes() == b''


def test_shift_across_chunks():
    d = make([b'abc', b'def', b'ghi'])
    h = d.shift(5)
    assert h.to_bytes() == b'abcde'
    assert d.to_bytes() == b'fghi'
    assert len(d) == 4
    # and again, from a remainder that starts in the middle of a chunk
    h = d.shift(2)
    assert h.to_bytes() == b'fg'
    assert d.to_bytes() == b'hi'


@pytest.mark.parametrize('n', [6, 7, 1000])
def test_shift_everything_or_beyond(n):
    d = make([b'abc', b'def'])
    h = d.shift(n)
    assert h.to_bytes() == b'abcdef'
    assert len(h) == 6
    assert len(d) == 0 and not d and d.to_bytes() == b''
    assert d.chunks() == []


@pytest.mark.parametrize('n', [0, -1, -100])
def test_shift_nothing(n):
    d = make([b'abc', b'def'])
    h = d.shift(n)
    assert len(h) == 0 and h.to_bytes() == b''
    assert d.to_bytes() == b'abcdef'
    assert len(d) == 6


def test_shift_on_empty():
    d = Data()
    assert d.shift(3).to_bytes() == b''
    assert len(d) == 0


def test_shifted_parts_are_independent_of_later_pushes():
    d = make([b'abc', b'def'])
    h = d.shift(4)
    d.push(b'XYZ')
    h.push(b'!')
    assert h.to_bytes() == b'abcd!'
    assert d.to_bytes() == b'efXYZ'


def test_data_survives_consumer_keeping_chunks():
    # A receiver may keep the pieces: pushing the same Data into two buffers must not tie them together.
    src = make([b'ab', b'cd'])
    a = Data().push(src)
    b = Data().push(src)
    a.shift(3)
    assert b.to_bytes() == b'abcd'
    assert src.to_bytes() == b'abcd'


# ------------------------------------------------------------------ slice

def test_slice_basic():
    d = make([b'abc', b'def', b'ghi'])
    assert d.slice(0, 9).to_bytes() == b'abcdefghi'
    assert d.slice(1, 2).to_bytes() == b'b'
    assert d.slice(2, 7).to_bytes() == b'cdefg'
    assert d.slice(3, 6).to_bytes() == b'def'
    assert d.slice(4).to_bytes() == b'efghi'
    assert d.slice(5, 5).to_bytes() == b''
    assert d.slice(6, 2).to_bytes() == b''
    assert d.slice(0, 100).to_bytes() == b'abcdefghi'
    assert d.slice(50).to_bytes() == b''
    # the original is untouched
    assert d.to_bytes() == b'abcdefghi'
    assert len(d) == 9


def test_slice_result_has_right_size():
    d = make([b'abc', b'def'])
    s = d.slice(1, 5)
    assert len(s) == s.size == 4


# ------------------------------------------------------------------ reading

def test_to_str_encodings_and_errors():
    d = Data('h\u00e9llo')
    assert d.to_str() == 'h\u00e9llo'
    assert d.to_str('latin-1') == 'h\xc3\xa9llo'
    bad = Data(b'\xffok')
    with pytest.raises(UnicodeDecodeError):
        bad.to_str()
    assert bad.to_str(errors='replace') == '\ufffdok'


def test_to_bytes_multi_chunk_and_after_shift():
    d = make([b'ab', b'cd', b'ef'])
    assert d.to_bytes() == b'abcdef'
    assert type(d.to_bytes()) is bytes
    d.shift(1)
    assert d.to_bytes() == b'bcdef'
    assert type(d.to_bytes()) is bytes


def test_equality_and_hash():
    a = make([b'ab', b'cd'])
    b = Data(b'abcd')
    assert a == b
    assert a == b'abcd'
    assert a == bytearray(b'abcd')
    assert a != Data(b'abce')
    assert a != b'abc'
    assert Data() == Data()
    assert Data() == b''
    assert hash(a) == hash(b)
    assert len({a, b}) == 1
    assert (a == 42) is False


def test_repr_shows_bytes():
    assert repr(Data(b'ab')) == "Data(b'ab')"
    long = repr(Data(b'x' * 100))
    assert long.endswith("...)") and len(long) < 100


# ------------------------------------------------------------------ properties

@SETTINGS
@given(chunks=chunks_st, n=st.integers(min_value=-5, max_value=500))
def test_prop_shift_splits_at_n(chunks, n):
    whole = b''.join(chunks)
    d = make(chunks)
    h = d.shift(n)
    k = max(0, min(n, len(whole)))
    assert h.to_bytes() == whole[:k]
    assert d.to_bytes() == whole[k:]
    assert h.to_bytes() + d.to_bytes() == whole
    assert len(h) == k
    assert len(d) == len(whole) - k
    assert sum(len(c) for c in h.chunks()) == len(h)
    assert sum(len(c) for c in d.chunks()) == len(d)


@SETTINGS
@given(chunks=chunks_st, cuts=st.lists(st.integers(min_value=0, max_value=60), max_size=8))
def test_prop_repeated_shifts_rebuild_original(chunks, cuts):
    whole = b''.join(chunks)
    d = make(chunks)
    pieces = [d.shift(n) for n in cuts]
    out = b''.join(p.to_bytes() for p in pieces) + d.to_bytes()
    assert out == whole
    rebuilt = Data()
    for p in pieces:
        rebuilt.push(p)
    rebuilt.push(d)
    assert rebuilt == whole


@SETTINGS
@given(chunks=chunks_st, data=st.data())
def test_prop_slice_matches_bytes_slicing(chunks, data):
    whole = b''.join(chunks)
    start = data.draw(st.integers(min_value=0, max_value=len(whole) + 3))
    end = data.draw(st.integers(min_value=0, max_value=len(whole) + 3))
    d = make(chunks)
    s = d.slice(start, end)
    assert s.to_bytes() == whole[start:end]
    assert len(s) == len(whole[start:end])
    assert d.slice(start).to_bytes() == whole[start:]
    assert d.to_bytes() == whole                   # slicing leaves the original alone


@SETTINGS
@given(chunks=chunks_st)
def test_prop_size_and_chunks(chunks):
    d = make(chunks)
    whole = b''.join(chunks)
    assert len(d) == d.size == len(whole)
    assert b''.join(bytes(c) for c in d.chunks()) == whole
    assert all(len(c) > 0 for c in d.chunks())
    assert d == Data(whole)
    assert bool(d) is bool(whole)


@SETTINGS
@given(chunks=chunks_st, n=st.integers(min_value=0, max_value=500), data=st.data())
def test_prop_slice_after_shift(chunks, n, data):
    whole = b''.join(chunks)
    d = make(chunks)
    d.shift(n)
    rest = whole[n:]
    start = data.draw(st.integers(min_value=0, max_value=len(rest) + 2))
    end = data.draw(st.integers(min_value=0, max_value=len(rest) + 2))
    assert d.slice(start, end).to_bytes() == rest[start:end]
