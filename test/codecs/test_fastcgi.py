"""FastCGI records and name-value pairs: round trips, streams cut anywhere, lengths at the 1-byte/4-byte edge,
garbage and lengths that lie."""
import struct

import pytest
from hypothesis import given, settings, strategies as st

from pipyx._native import (FastCgiRecordReader, decode_cgi_head, decode_fastcgi_params, encode_fastcgi_params,
                           encode_fastcgi_record)

STDIN, STDOUT, PARAMS = 5, 6, 4


def read_all(pieces):
    r = FastCgiRecordReader()
    out = []
    for piece in pieces:
        out += r.feed_bytes(piece)
    r.feed_eof()
    return out


def test_a_record_is_its_header_its_content_and_padding_to_8():
    b = encode_fastcgi_record(STDOUT, 0x102, b'hello')
    assert b[:8] == bytes([1, STDOUT, 1, 2, 0, 5, 3, 0])
    assert b[8:] == b'hello\0\0\0'
    assert read_all([b]) == [(STDOUT, 0x102, b'hello')]


def test_empty_content_is_the_one_empty_record_that_ends_a_stream():
    assert encode_fastcgi_record(STDIN, 1, b'') == bytes([1, STDIN, 0, 1, 0, 0, 0, 0])


def test_content_over_64k_is_split_into_records():
    body = bytes(range(256)) * 600                       # 153,600 bytes
    records = read_all([encode_fastcgi_record(STDIN, 7, body)])
    assert len(records) == 3 and all(len(c) <= 65535 for _, _, c in records)
    assert b''.join(c for _, _, c in records) == body


@pytest.mark.parametrize('n', [0, 1, 127, 128, 129, 255, 256, 65535, 70000])
def test_pair_lengths_take_one_byte_below_128_and_four_from_128(n):
    name, value = 'N' * n, 'v' * (n + 1)
    b = encode_fastcgi_params([(name, value)])
    width = (1 if n < 128 else 4) + (1 if n + 1 < 128 else 4)
    assert len(b) == width + 2 * n + 1
    if n >= 128:
        assert b[0] & 0x80 and struct.unpack('>I', b[:4])[0] & 0x7fffffff == n
    assert decode_fastcgi_params(b) == [(name, value)]


def test_params_keep_latin1_bytes_and_drop_none():
    b = encode_fastcgi_params({'HTTP_X': 'caf\xe9', 'GONE': None, 'N': 3})
    assert decode_fastcgi_params(b) == [('HTTP_X', 'caf\xe9'), ('N', '3')]


@pytest.mark.parametrize('lie', [
    b'\x05\x05abc',                                  # lengths say 10 bytes, 3 follow
    b'\x80\x00\x00',                                  # a 4-byte length cut short
    b'\x01',                                          # no value length
    b'\xff\xff\xff\xff\x00',                          # 2 GiB name
])
def test_a_pair_whose_lengths_lie_is_an_error(lie):
    with pytest.raises(ValueError):
        decode_fastcgi_params(lie)


def test_a_record_cut_short_is_an_error_at_the_end_of_the_stream():
    b = encode_fastcgi_record(STDOUT, 1, b'x' * 100)
    r = FastCgiRecordReader()
    assert r.feed_bytes(b[:50]) == []
    with pytest.raises(ValueError, match='inside a record'):
        r.feed_eof()


def test_a_record_whose_length_lies_long_waits_and_is_cut_short():
    b = bytearray(encode_fastcgi_record(STDOUT, 1, b'abc'))
    b[5] = 200                                       # says 200 bytes; 3 (+5 padding) follow
    r = FastCgiRecordReader()
    assert r.feed_bytes(bytes(b)) == []
    with pytest.raises(ValueError):
        r.feed_eof()


def test_a_stream_that_is_not_fastcgi_is_refused():
    with pytest.raises(ValueError, match='not FastCGI'):
        FastCgiRecordReader().feed_bytes(b'GET / HTTP/1.1\r\n\r\n')


def test_a_cgi_head_gives_status_and_fields():
    assert decode_cgi_head(b'Status: 404 Not Found\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2')\
        == (404, 'Not Found', {'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2']})
    assert decode_cgi_head(b'Location: /there\n') == (302, None, {'location': '/there'})
    assert decode_cgi_head(b'X-Powered-By: PHP') == (200, None, {'x-powered-by': 'PHP'})
    with pytest.raises(ValueError):
        decode_cgi_head(b'Status: two hundred')
    with pytest.raises(ValueError):
        decode_cgi_head(b'no colon')


records = st.lists(st.tuples(st.integers(1, 11), st.integers(0, 65535), st.binary(max_size=300)), max_size=6)


def cut(data, points):
    points = sorted(p % (len(data) + 1) for p in points)
    return [data[a:b] for a, b in zip([0] + points, points + [len(data)])]


@settings(max_examples=200, deadline=None)
@given(records, st.lists(st.integers(0, 10 ** 6), max_size=10))
def test_records_round_trip_however_the_stream_is_cut(recs, points):
    stream = b''.join(encode_fastcgi_record(t, i, c) for t, i, c in recs)
    got = read_all(cut(stream, points))
    expected = [(t, i, c) for t, i, c in recs]
    assert got == expected


pairs = st.lists(st.tuples(st.text(st.characters(max_codepoint=255), max_size=200),
                           st.text(st.characters(max_codepoint=255), max_size=300)), max_size=8)


@settings(max_examples=200, deadline=None)
@given(pairs)
def test_params_round_trip(ps):
    assert decode_fastcgi_params(encode_fastcgi_params(ps)) == ps


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_garbage_params_are_pairs_or_a_value_error(b):
    try:
        out = decode_fastcgi_params(b)
    except ValueError:
        return
    assert sum(len(k) + len(v) for k, v in out) <= len(b)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.lists(st.integers(0, 300), max_size=5))
def test_garbage_records_are_records_or_a_value_error(b, points):
    r = FastCgiRecordReader()
    try:
        for piece in cut(b, points):
            for t, i, c in r.feed_bytes(piece):
                assert 0 <= t <= 255 and 0 <= i <= 65535 and len(c) <= 65535
        r.feed_eof()
    except ValueError:
        pass
