"""HPACK (RFC 7541) against the hpack package both ways: header lists encoded by one and decoded by the other, the
dynamic tables kept in step over many blocks; garbage and out-of-range indices give HpackError, never a crash."""
import hpack
import pytest
from hypothesis import given, settings, strategies as st

from pipyx._native import HpackDecoder, HpackEncoder, HpackError

COMMON_NAMES = [b':method', b':path', b':scheme', b':authority', b':status', b'content-type', b'user-agent',
                b'accept', b'cookie', b'authorization', b'x-custom', b'date', b'content-length', b'server']
names = st.one_of(st.sampled_from(COMMON_NAMES),
                  st.binary(min_size=1, max_size=20).map(lambda b: bytes(c | 0x20 for c in b if c not in b':')
                                                         or b'x'))
values = st.one_of(st.sampled_from([b'', b'GET', b'/', b'200', b'text/html', b'gzip, deflate', b'https']),
                   st.binary(max_size=100))
header_lists = st.lists(st.tuples(names, values), max_size=12)


@settings(max_examples=150, deadline=None)
@given(st.lists(header_lists, min_size=1, max_size=10), st.sampled_from([0, 64, 256, 4096]))
def test_ours_encoded_theirs_decoded_over_many_blocks(blocks, table_size):
    enc = HpackEncoder(4096)
    dec = hpack.Decoder()
    if table_size != 4096:
        enc.set_max_table_size(table_size)
    for headers in blocks:
        assert dec.decode(enc.encode(headers), raw=True) == headers


@settings(max_examples=150, deadline=None)
@given(st.lists(header_lists, min_size=1, max_size=10), st.booleans())
def test_theirs_encoded_ours_decoded_over_many_blocks(blocks, huffman):
    enc = hpack.Encoder()
    dec = HpackDecoder()
    for headers in blocks:
        assert dec.decode(enc.encode(headers, huffman=huffman)) == headers


def test_table_size_update_from_theirs_is_applied():
    enc = hpack.Encoder()
    dec = HpackDecoder()
    dec.decode(enc.encode([(b'x-a', b'1' * 50), (b'x-b', b'2' * 50)]))
    assert dec.table_size > 0
    enc.header_table_size = 0
    assert dec.decode(enc.encode([(b'x-a', b'1' * 50)])) == [(b'x-a', b'1' * 50)]
    assert dec.table_size == 0


def test_repeated_fields_get_cheap_and_secrets_are_never_indexed():
    enc = HpackEncoder()
    fields = [(b':method', b'GET'), (b':scheme', b'https'), (b'user-agent', b'curl/8.0 something long'),
              (b'authorization', b'Bearer secret')]
    first = enc.encode(fields)
    second = enc.encode(fields)
    assert len(second) < len(first) - 15              # the user-agent now costs one byte
    dec = hpack.Decoder()
    dec.decode(first, raw=True)
    assert dec.decode(second, raw=True) == fields
    assert [name for name, _ in dec.header_table.dynamic_entries] == [b'user-agent']
    # The never-indexed representation is kept by a decoder that reports it.
    out = hpack.Decoder().decode(HpackEncoder().encode([(b'x-token', b'abc', True)]))
    assert isinstance(out[0], hpack.NeverIndexedHeaderTuple)


def test_huffman_used_only_when_shorter():
    enc = HpackEncoder()
    plain = enc.encode([(b'x-bin', bytes(range(200, 220)))])
    assert bytes(range(200, 220)) in plain                   # Huffman would be longer for these bytes
    text = HpackEncoder().encode([(b'x-text', b'aaaaaaaaaaaaaaaaaaaa')])
    assert b'aaaaaaaaaaaaaaaaaaaa' not in text


@pytest.mark.parametrize('block', [
    b'\xbf\x00',              # index 0 + continuation... out of range
    b'\x80',                  # index 0
    b'\xff\xff\xff\xff\xff\x0f',   # huge index
    b'\xc0',                  # dynamic index 64 with an empty table
    b'\x40\x85\xff\xff\xff\xff\xff\x00',   # Huffman with EOS
    b'\x40\x7f',              # a string length cut short
    b'\x3f\xe2\x1f',          # table size update to 4097, over the 4096 allowed
    b'\x82\x20',              # table size update after a field
])
def test_bad_blocks_raise_hpack_error(block):
    with pytest.raises(HpackError):
        HpackDecoder().decode(block)


def test_limits_refuse_long_strings_and_big_lists():
    enc = hpack.Encoder()
    with pytest.raises(HpackError, match='longer than'):
        HpackDecoder(max_string=100).decode(enc.encode([(b'x', b'y' * 200)], huffman=False))
    with pytest.raises(HpackError, match='longer than'):
        HpackDecoder(max_string=100).decode(hpack.Encoder().encode([(b'x', b'y' * 200)], huffman=True))
    with pytest.raises(HpackError, match='header list over'):
        HpackDecoder(max_header_list_size=1000).decode(
            hpack.Encoder().encode([(b'x-%d' % i, b'v' * 40) for i in range(20)]))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_garbage_never_crashes(block):
    dec = HpackDecoder()
    try:
        out = dec.decode(block)
    except HpackError:
        return
    assert all(isinstance(n, bytes) and isinstance(v, bytes) for n, v in out)
