"""The PROXY protocol header with bytes alone: encode_proxy_header -> bytes -> ProxyHeaderParser, split anywhere, and
headers that are malformed, too long, or lie about their length."""
import ipaddress
import struct

import pytest
from hypothesis import given, settings, strategies as st

from pipyx._native import ProxyHeaderParser, encode_proxy_header

SIG = b'\r\n\r\n\x00\r\nQUIT\n'

ipv4 = st.ip_addresses(v=4).map(str)
ipv6 = st.ip_addresses(v=6).map(lambda a: str(ipaddress.IPv6Address(a)))
port = st.integers(min_value=0, max_value=65535)
tlvs = st.dictionaries(st.integers(min_value=0, max_value=255), st.binary(max_size=300), max_size=5)


def parse(data, cuts=(), max_size=4096):
    """Feeds data in the pieces cuts make until the parser decides; returns (result, parser, the bytes after the
    header: what the parser kept and what was not fed)."""
    p = ProxyHeaderParser(max_size)
    last, r = 0, 0
    for cut in sorted(set(c for c in cuts if 0 < c < len(data))) + [len(data)]:
        r = p.feed(data[last:cut])
        last = cut
        if r:
            break
    return r, p, p.rest + data[last:]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([1, 2]), st.one_of(st.tuples(ipv4, ipv4), st.tuples(ipv6, ipv6)), port, port, tlvs,
       st.binary(max_size=50), st.lists(st.integers(min_value=0, max_value=600), max_size=6))
def test_round_trip_split_anywhere(version, addrs, sport, dport, tl, after, cuts):
    header = encode_proxy_header(version, (addrs[0], sport), (addrs[1], dport), None, tl if version == 2 else None)
    r, p, rest = parse(header + after, cuts)
    assert r == 1, p.error
    h = p.header
    assert (h.version, h.command) == (version, 'PROXY')
    assert h.transport == ('TCP4' if '.' in addrs[0] else 'TCP6')
    assert (h.source_address, h.source_port, h.destination_address, h.destination_port) == \
        (addrs[0], sport, addrs[1], dport)
    assert h.tlvs == (tl if version == 2 else {})
    assert rest == after                        # the stream's own bytes follow, untouched


def test_v1_text_as_the_specification_writes_it():
    r, p, _ = parse(b'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n')
    assert r == 1
    assert (p.header.source_address, p.header.source_port) == ('192.168.0.1', 56324)
    assert (p.header.destination_address, p.header.destination_port) == ('192.168.0.11', 443)
    assert p.rest == b'GET / HTTP/1.1\r\n'
    assert encode_proxy_header(1, ('192.168.0.1', 56324), ('192.168.0.11', 443)) == \
        b'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n'


def test_unknown_and_local_carry_no_addresses():
    r, p, _ = parse(b'PROXY UNKNOWN ffff::1 ffff::2 1 2\r\nx')
    assert r == 1 and p.header.transport == 'UNKNOWN' and p.header.source_address is None and p.rest == b'x'
    local = encode_proxy_header(2, None, None)
    assert local == SIG + b'\x20\x00\x00\x00'
    r, p, _ = parse(local + b'hello')
    assert r == 1 and p.header.command == 'LOCAL' and p.rest == b'hello'
    # LOCAL with an address block: the block is skipped, whatever it holds
    r, p, _ = parse(SIG + b'\x20\x11\x00\x05' + b'12345' + b'!')
    assert r == 1 and p.header.command == 'LOCAL' and p.rest == b'!'


@pytest.mark.parametrize('data, why', [
    (b'GET / HTTP/1.1\r\n', 'no PROXY protocol header'),
    (b'\x16\x03\x01\x02\x00', 'no PROXY protocol header'),                     # a TLS ClientHello
    (b'PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n', 'malformed'),
    (b'PROXY TCP4 1.2.3.4 ::1 1 2\r\n', 'family'),
    (b'PROXY TCP4 1.2.3.400 5.6.7.8 1 2\r\n', 'malformed address'),
    (b'PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n', 'malformed port'),
    (b'PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n', 'malformed port'),
    (b'PROXY TCP4 ' + b'1' * 120, 'longer than 107'),                        # no CRLF in sight
    (b'PROXY TCP4 1.2.3.4 5.6.7.8 1 2' + b' ' * 80 + b'\r\n', 'longer than 107'),
    (SIG + b'\x31\x11\x00\x0c' + bytes(12), 'version/command'),
    (SIG + b'\x22\x11\x00\x0c' + bytes(12), 'version/command'),
    (SIG + b'\x21\x11\x00\x05' + bytes(5), 'too short'),                      # a lying length: no room for addresses
    (SIG + b'\x21\x44\x00\x0c' + bytes(12), 'address family'),
    (SIG + b'\x21\x11\x00\x0e' + bytes(12) + b'\x01\x00', 'garbage after the TLVs'),
    (SIG + b'\x21\x11\x00\x10' + bytes(12) + b'\x04\x00\x09\x00', 'runs past the header'),
    (SIG + b'\x21\x11\xff\xff', 'more than 4096'),
])
def test_refused_with_a_reason(data, why):
    for cuts in ((), range(1, len(data))):                # at once, and byte by byte
        r, p, _ = parse(data, cuts)
        assert r == -1, (data, p.header)
        assert why in p.error
        assert p.feed(b'more') == -1                      # refused stays refused


def test_a_v2_length_that_lies_upwards_waits_then_the_stream_is_not_tlvs():
    header = encode_proxy_header(2, ('10.0.0.1', 1000), ('10.0.0.2', 80))
    lying = header[:14] + struct.pack('!H', 12 + 40) + header[16:]         # says 40 more bytes than it has
    r, p, _ = parse(lying + b'GET / HTTP/1.1\r\n')
    assert r == 0                                                          # still waiting for the rest
    r = p.feed(b'Host: x\r\n\r\n' + b'z' * 30)                            # the stream's bytes taken for TLVs
    assert r == -1 and 'TLV' in p.error


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.lists(st.integers(min_value=0, max_value=300), max_size=5))
def test_garbage_never_crashes(data, cuts):
    r, p, _ = parse(data, cuts)
    assert r in (0, 1, -1)
    if r == -1:
        assert p.error
    if r == 1:
        assert p.header.version in (1, 2)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120), st.lists(st.integers(min_value=0, max_value=140), max_size=4))
def test_garbage_after_a_v2_prefix_never_crashes(tail, cuts):
    r, p, _ = parse(SIG + tail, cuts)
    assert r in (0, 1, -1)


def test_encoder_refuses_what_it_cannot_write():
    with pytest.raises(ValueError):
        encode_proxy_header(3, ('1.2.3.4', 1), ('1.2.3.4', 2))
    with pytest.raises(ValueError):
        encode_proxy_header(1, ('1.2.3.4', 1), ('1.2.3.4', 70000))
    with pytest.raises(ValueError):
        encode_proxy_header(1, ('1.2.3.4', 1), ('5.6.7.8', 2), 'UDP4')
    # v4 client, v6 listener: both written as IPv6
    h = encode_proxy_header(1, ('1.2.3.4', 1), ('::1', 2))
    assert h == b'PROXY TCP6 ::ffff:102:304 ::1 1 2\r\n'
