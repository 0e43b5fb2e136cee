"""decode_dns and encode_dns: TCP streams split anywhere decode to the messages sent and encode back to the same
bytes; a zero-length frame ends the stream; over real UDP and TCP sockets a script answers dig, dnspython and dnslib
clients; malformed datagrams are dropped with one log line."""
import os
import socket
import struct
import subprocess

import dns.message
import dns.query
import dnslib
from hypothesis import HealthCheck, given, settings, strategies as st

from pipyx import Data, MessageEnd, MessageStart
from pipyx.testing import pipeline
from test.helpers import free_port, lacks, no_traceback
from test.helpers.streams import split_at

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def query(name, kind='A'):
    return bytes(dnslib.DNSRecord.question(name, kind).pack())


def framed(wire):
    return struct.pack('>H', len(wire)) + wire


@SETTINGS
@given(st.lists(st.sampled_from(['a.example', 'b.example.org', 'x' * 60 + '.test']), min_size=1, max_size=5),
       st.lists(st.integers(0, 2000), max_size=10))
def test_a_tcp_stream_decodes_and_encodes_back_however_it_is_split(names, cuts):
    wires = [query(n, k) for n, k in zip(names, ['A', 'AAAA', 'TXT', 'MX', 'SRV'])]
    stream = b''.join(framed(w) for w in wires)
    p, out = pipeline(lambda p: p.decode_dns(transport='tcp'))
    for piece in split_at(stream, cuts):
        p.input(Data(piece))
    heads = [e.head for e in out.events if isinstance(e, MessageStart)]
    assert [h.to_bytes() for h in heads] == wires and all(h.tcp for h in heads)

    p2, out2 = pipeline(lambda p: p.encode_dns(transport='tcp'))
    for h in heads:
        p2.input(MessageStart(h))
        p2.input(MessageEnd())
    assert b''.join(e.to_bytes() for e in out2.events if isinstance(e, Data)) == stream


def test_auto_tells_datagrams_from_a_stream():
    p, out = pipeline(lambda p: p.decode_dns().encode_dns())
    w = query('udp.example')
    p.input(MessageStart())
    p.input(Data(w))
    p.input(MessageEnd())
    assert [type(e).__name__ for e in out.events] == ['MessageStart', 'Data', 'MessageEnd']
    assert out.events[1].to_bytes() == w                   # nobody changed it: the same bytes
    p, out = pipeline(lambda p: p.decode_dns().encode_dns())
    p.input(Data(framed(w)))
    assert [e.to_bytes() for e in out.events if isinstance(e, Data)] == [framed(w)]


def test_a_zero_length_frame_ends_the_stream():
    p, out = pipeline(lambda p: p.decode_dns(transport='tcp'))
    p.input(Data(framed(query('ok.example')) + b'\x00\x00' + framed(query('never.example'))))
    assert [type(e).__name__ for e in out.events] == ['MessageStart', 'MessageEnd', 'StreamEnd']
    assert out.events[-1].error == 'ProtocolError'


def test_a_head_of_wire_bytes_or_a_dict_is_encoded():
    p, out = pipeline(lambda p: p.encode_dns(transport='udp'))
    w = query('body.example')
    p.input(MessageStart())
    p.input(Data(w))
    p.input(MessageEnd())
    p.input(MessageStart({'id': 9, 'qr': True, 'rcode': 'NXDOMAIN'}))
    p.input(MessageEnd())
    data = [e.to_bytes() for e in out.events if isinstance(e, Data)]
    assert data[0] == w
    assert dnslib.DNSRecord.parse(data[1]).header.rcode == 3


SERVER = '''
from pipyx import pipy, Message
from pipyx.dns import DnsRecord

def answer(msg):
    q = msg.head
    name = q.question.name
    if name.startswith('txt.'):
        return Message(q.reply(answers=[DnsRecord(name, 'TXT', 30, ['via %%s' %% ('tcp' if q.tcp else 'udp')])]))
    return Message(q.reply(answers=[DnsRecord(name, 'A', 30, '192.0.2.7')]))

def serve(p):
    return p.decode_dns().replace_message(answer).encode_dns()

app = pipy()
serve(app.listen('127.0.0.1:%(port)d', protocol='udp'))
serve(app.listen('127.0.0.1:%(port)d'))
'''


def test_a_script_answers_real_clients_over_udp_and_tcp(run_pipyx):
    port = free_port()
    p = run_pipyx(SERVER % {'port': port}, port=port)
    for tcp in (False, True):
        r = (dns.query.tcp if tcp else dns.query.udp)(dns.message.make_query('txt.example', 'TXT'), '127.0.0.1',
                                                      port=port, timeout=3)
        assert list(r.answer[0][0].strings) == [b'via tcp' if tcp else b'via udp']
    r = dnslib.DNSRecord.parse(dnslib.DNSRecord.question('a.example').send('127.0.0.1', port, tcp=True, timeout=3))
    assert str(r.rr[0].rdata) == '192.0.2.7'
    # several queries on one TCP connection, sent as one write
    with socket.create_connection(('127.0.0.1', port), timeout=3) as s:
        s.sendall(b''.join(framed(query('q%d.example' % i)) for i in range(5)))
        got = b''
        while got.count(b'\xc0\x00\x02\x07') < 5:
            b = s.recv(4096)
            assert b
            got += b
    if not lacks('dig'):
        out = subprocess.run(['dig', '@127.0.0.1', '-p', str(port), '+short', '+tries=1', '+time=3', 'd.example'],
                             capture_output=True, text=True, timeout=10).stdout
        assert out.strip() == '192.0.2.7'
    no_traceback(p.log())


def test_malformed_datagrams_are_dropped_with_one_log_line(run_pipyx):
    port = free_port()
    p = run_pipyx(SERVER % {'port': port}, port=port)
    loop = bytes.fromhex('abcd01000001000000000000') + b'\xc0\x0c\x00\x01\x00\x01'
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.3)
        for junk in (loop, b'\x01\x02', os.urandom(64), loop):
            s.sendto(junk, ('127.0.0.1', port))
        s.sendto(query('fine.example'), ('127.0.0.1', port))
        reply = dnslib.DNSRecord.parse(s.recvfrom(4096)[0])
    assert str(reply.q.qname) == 'fine.example.' and str(reply.rr[0].rdata) == '192.0.2.7'
    log = p.log()
    assert log.count('decode_dns') == 1 and 'points forward' in log, log
    no_traceback(log)
