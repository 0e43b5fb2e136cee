"""The DNS codec (native/codecs/dns.pxi) against dnslib: random messages built with dnslib decode to what dnslib
says and are written back byte for byte; built from the model they mean the same to dnslib; malformed input raises
DnsError and nothing else; the cache's wire helpers patch ids, questions and TTLs without reading records."""

import socket

import dnslib
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from pipyx.dns import DnsEdns, DnsError, DnsMessage, DnsRecord, dns_reanswer, dns_truncated

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

labels = st.text('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-', min_size=1, max_size=12)
names = st.lists(labels, min_size=1, max_size=4).map('.'.join)
ttls = st.integers(0, 2 ** 31 - 1)
u16 = st.integers(0, 65535)
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: '%d.%d.%d.%d' % t)
ipv6 = st.binary(min_size=16, max_size=16).map(lambda b: socket.inet_ntop(socket.AF_INET6, b))


@st.composite
def records(draw):
    name = draw(names)
    kind = draw(st.sampled_from(['A', 'AAAA', 'CNAME', 'NS', 'PTR', 'MX', 'TXT', 'SOA', 'SRV']))
    if kind == 'A':
        rdata = dnslib.A(draw(ipv4))
    elif kind == 'AAAA':
        rdata = dnslib.AAAA(draw(ipv6))
    elif kind in ('CNAME', 'NS', 'PTR'):
        rdata = getattr(dnslib, kind)(draw(names))
    elif kind == 'MX':
        rdata = dnslib.MX(draw(names), draw(u16))
    elif kind == 'TXT':
        rdata = dnslib.TXT([s.encode() for s in draw(st.lists(st.text('abc xyz"', max_size=40), min_size=1,
                                                                    max_size=3))])
    elif kind == 'SOA':
        rdata = dnslib.SOA(draw(names), draw(names), tuple(draw(st.lists(ttls, min_size=5, max_size=5))))
    else:
        rdata = dnslib.SRV(draw(u16), draw(u16), draw(u16), draw(names))
    return dnslib.RR(name, getattr(dnslib.QTYPE, kind), rdata=rdata, ttl=draw(ttls))


@st.composite
def messages(draw):
    header = dnslib.DNSHeader(id=draw(u16), qr=draw(st.booleans()), aa=draw(st.booleans()), rd=draw(st.booleans()),
                              ra=draw(st.booleans()), rcode=draw(st.sampled_from([0, 1, 2, 3, 5])))
    m = dnslib.DNSRecord(header)
    for _ in range(draw(st.integers(0, 2))):
        m.add_question(dnslib.DNSQuestion(draw(names), draw(st.sampled_from([1, 28, 15, 16, 255]))))
    for add in (m.add_answer, m.add_auth, m.add_ar):
        for rr in draw(st.lists(records(), max_size=4)):
            add(rr)
    if draw(st.booleans()):
        opts = [dnslib.EDNSOption(8, bytes([0, 1, 24, 0, 10, 1, 2]))] if draw(st.booleans()) else []
        m.add_ar(dnslib.EDNS0(udp_len=draw(st.integers(512, 65535)), flags='do' if draw(st.booleans()) else '',
                              opts=opts))
    return m


def text(wire):
    return str(dnslib.DNSRecord.parse(wire))


@SETTINGS
@given(messages())
def test_a_message_nobody_changed_is_written_back_byte_for_byte(record):
    wire = bytes(record.pack())
    m = DnsMessage(wire)
    assert m.to_bytes() is wire or m.to_bytes() == wire
    # reading everything does not change it either
    _ = (m.questions, m.answers, m.authority, m.additional, m.edns, [r.data for r in m.answers])
    assert m.to_bytes() == wire


@SETTINGS
@given(messages())
def test_the_model_means_what_dnslib_says(record):
    wire = bytes(record.pack())
    m = DnsMessage(wire)
    assert (m.id, m.qr, m.aa, m.rd, m.ra, m.rcode) == (
        record.header.id, bool(record.header.qr), bool(record.header.aa), bool(record.header.rd),
        bool(record.header.ra), record.header.rcode)
    assert [(q.name.lower(), q.type) for q in m.questions] == [
        (str(q.qname).rstrip('.').lower(), q.qtype) for q in record.questions]
    ours = m.answers + m.authority + m.additional
    theirs = [r for r in record.rr + record.auth + record.ar if r.rtype != 41]
    assert [(r.name, r.type, r.ttl) for r in ours] == [(str(r.rname).rstrip('.'), r.rtype, r.ttl) for r in theirs]
    for ours_r, theirs_r in zip(ours, theirs):
        if ours_r.type == 1 or ours_r.type == 28:
            assert ours_r.data == str(theirs_r.rdata)
        elif ours_r.type in (2, 5, 12):
            assert ours_r.data == str(theirs_r.rdata.label).rstrip('.')
        elif ours_r.type == 15:
            assert ours_r.data == (theirs_r.rdata.preference, str(theirs_r.rdata.label).rstrip('.'))
        elif ours_r.type == 16:
            assert ours_r.data == list(theirs_r.rdata.data)
    # the same message built from the model (written anew, compressed its own way) means the same to dnslib
    built = DnsMessage(id=m.id, qr=m.qr, aa=m.aa, rd=m.rd, ra=m.ra, rcode=m.rcode, questions=m.questions,
                       answers=m.answers, authority=m.authority, additional=m.additional, edns=m.edns)
    assert text(built.to_bytes()) == text(wire)


@SETTINGS
@given(messages(), st.integers(0, 100))
def test_a_changed_record_is_written_out(record, ttl):
    m = DnsMessage(bytes(record.pack()))
    if not m.answers:
        return
    m.answers[0].ttl = ttl
    again = dnslib.DNSRecord.parse(m.to_bytes())
    assert again.rr[0].ttl == ttl
    assert [str(r) for r in again.rr[1:]] == [str(r) for r in record.rr[1:]]


@SETTINGS
@given(st.binary(max_size=300))
def test_garbage_raises_dns_error_only(garbage):
    try:
        m = DnsMessage(garbage)
    except DnsError:
        return
    _ = (m.questions, m.edns)
    try:
        _ = (m.answers, m.authority, m.additional)
    except DnsError:
        pass


@SETTINGS
@given(messages(), st.lists(st.tuples(st.integers(0, 10 ** 6), st.integers(0, 255)), min_size=1, max_size=4))
def test_a_damaged_message_raises_dns_error_only(record, flips):
    wire = bytearray(record.pack())
    for at, value in flips:
        wire[at % len(wire)] = value
    test_garbage_raises_dns_error_only.hypothesis.inner_test(bytes(wire))


HEADER = bytes.fromhex('abcd01000001000000000000')


@pytest.mark.parametrize('wire, says', [
    (HEADER + b'\xc0\x0c\x00\x01\x00\x01', 'points forward'),                         # a pointer to itself
    (HEADER + b'\x01a\xc0\x0e\x00\x01\x00\x01', 'points forward'),                     # a pointer loop
    (HEADER + b'\x40' + b'a' * 64 + b'\x00\x00\x01\x00\x01', 'over 63 bytes'),
    (HEADER + (b'\x3f' + b'a' * 63) * 4 + b'\x00\x00\x01\x00\x01', 'over 255 bytes'),
    (bytes.fromhex('abcd01000005000000000000') + b'\x01a\x00\x00\x01\x00\x01', 'more than'),  # counts that lie
    (bytes.fromhex('abcd01000001000100000000') + b'\x01a\x00\x00\x01\x00\x01' + b'\xc0\x0c\x00\x01\x00\x01'
     + b'\x00\x00\x00\x01\x00\x09\x01\x02', 'past the end'),
    (b'\xab\xcd\x01', 'shorter than a DNS header'),
])
def test_malformed_names_and_counts_are_refused(wire, says):
    with pytest.raises(DnsError, match=says):
        DnsMessage(wire)


def answer_with(ttl=60, soa_minimum=None):
    q = dnslib.DNSRecord.question('www.example.com', 'A')
    a = q.reply()
    if soa_minimum is None:
        a.add_answer(*dnslib.RR.fromZone('www.example.com. %d A 192.0.2.1' % ttl))
        a.add_answer(*dnslib.RR.fromZone('www.example.com. %d MX 10 mail.example.com.' % (ttl + 5)))
    else:
        a.header.rcode = 3
        a.add_auth(*dnslib.RR.fromZone('example.com. %d SOA ns.example.com. h.example.com. 1 2 3 4 %d'
                                       % (ttl, soa_minimum)))
    return bytes(a.pack())


def test_min_ttl_is_the_lowest_ttl_or_the_soa_minimum_of_a_negative_answer():
    assert DnsMessage(answer_with(60)).min_ttl() == 60
    assert DnsMessage(answer_with(300, soa_minimum=30)).min_ttl() == 30
    assert DnsMessage(answer_with(20, soa_minimum=30)).min_ttl() == 20
    assert DnsMessage(dnslib.DNSRecord.question('x.example', 'A').pack()).min_ttl() is None


def test_reanswer_puts_in_the_askers_id_case_and_rd_and_counts_ttls_down():
    wire = answer_with(60)
    stored = DnsMessage(wire)
    query = DnsMessage(dnslib.DNSRecord(dnslib.DNSHeader(id=4242, rd=0),
                                        q=dnslib.DNSQuestion('WWW.Example.COM', 1)).pack())
    again = dnslib.DNSRecord.parse(dns_reanswer(wire, stored.ttl_offsets(), query, 25))
    assert again.header.id == 4242 and again.header.rd == 0
    assert str(again.q.qname) == 'WWW.Example.COM.'
    assert [r.ttl for r in again.rr] == [35, 40]
    assert [r.ttl for r in dnslib.DNSRecord.parse(dns_reanswer(wire, stored.ttl_offsets(), query, 999)).rr] == [0, 0]


def test_truncated_keeps_header_and_question_with_tc():
    wire = answer_with(60)
    cut = dnslib.DNSRecord.parse(dns_truncated(wire))
    assert cut.header.tc == 1 and cut.rr == [] and str(cut.q.qname) == 'www.example.com.'


def test_header_changes_are_patched_into_the_bytes_as_they_came():
    wire = answer_with(60)
    m = DnsMessage(wire)
    m.id, m.rcode, m.aa = 7, 'SERVFAIL', True
    out = m.to_bytes()
    assert out[4:] == wire[4:]
    back = dnslib.DNSRecord.parse(out)
    assert (back.header.id, back.header.rcode, back.header.aa) == (7, 2, 1)


def test_edns_client_subnet_and_payload_size():
    m = DnsMessage.query('example.com', 'A', edns=DnsEdns(4096, do=True))
    m.edns.set_client_subnet('198.51.100.77', 24)
    parsed = DnsMessage(m.to_bytes())
    assert parsed.payload_size == 4096 and parsed.edns.do
    assert parsed.client_subnet == ('198.51.100.0', 24, 0)
    assert DnsMessage(dnslib.DNSRecord.question('a.example', 'A').pack()).payload_size == 512
    assert parsed.cache_key != DnsMessage(dnslib.DNSRecord.question('example.com', 'A').pack()).cache_key


def test_built_records_and_replies():
    q = DnsMessage(dnslib.DNSRecord.question('svc.example', 'SRV').pack())
    a = q.reply(answers=[DnsRecord('svc.example', 'SRV', 30, (1, 2, 8080, 'host.example')),
                         DnsRecord('svc.example', 'TXT', 30, ['v=1', 'x' * 300])])
    back = dnslib.DNSRecord.parse(a.to_bytes())
    assert back.header.id == q.id and back.header.qr == 1
    assert str(back.rr[0].rdata) == '1 2 8080 host.example.'
    assert b''.join(back.rr[1].rdata.data) == b'v=1' + b'x' * 300
    assert a.dnslib().rr[0].rtype == dnslib.QTYPE.SRV
    assert DnsMessage.from_dnslib(back).answers[0].data == (1, 2, 8080, 'host.example')
