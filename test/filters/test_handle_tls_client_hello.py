"""handle_tls_client_hello: the ClientHello's SNI name and ALPN offer, read without terminating TLS. The parser is
fed real ClientHellos (from Python's ssl) split anywhere, and garbage; the filter routes TLS passthrough by name (an
L4 SNI router in front of two TLS servers) and ends a stream that is not TLS with one log line.
"""
import ssl

import pytest
from hypothesis import given, settings, strategies as st

from test.filters.tls_support import Certificates, tls_get
from test.helpers import ScriptOnPorts, wait_for


def client_hello(name='a.example', alpn=('h2', 'http/1.1'), version=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)           # (no CA store to load: nothing is verified here)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    if version == '1.2':
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    obj = ctx.wrap_bio(ssl.MemoryBIO(), out := ssl.MemoryBIO(), server_hostname=name)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass                             # expected: no server answers; the ClientHello is in `out`
    return out.read()


def parse(data, cuts=()):
    from pipyx._native import TlsHelloParser
    p = TlsHelloParser()
    pos = 0
    for cut in sorted(set(cuts)) + [len(data)]:
        if cut > pos:
            p.feed(data[pos:cut])
            pos = cut
    return p


def test_sni_alpn_and_versions_of_a_real_client_hello():
    p = parse(client_hello())
    assert (p.state, p.sni, p.alpn) == (1, 'a.example', ['h2', 'http/1.1'])
    assert 'TLSv1.3' in p.versions
    p = parse(client_hello(None, alpn=None, version='1.2'))
    assert (p.state, p.sni, p.alpn) == (1, None, [])


@settings(max_examples=60, deadline=None)
@given(name=st.from_regex(r'[a-z][a-z0-9-]{0,20}(\.[a-z]{2,6}){1,2}', fullmatch=True),
       alpn=st.lists(st.from_regex(r'[a-z0-9/.-]{1,12}', fullmatch=True), max_size=4),
       data=st.data())
def test_a_client_hello_split_anywhere_reads_the_same(name, alpn, data):
    hello = client_hello(name, alpn or None)
    cuts = data.draw(st.lists(st.integers(min_value=1, max_value=len(hello) - 1), max_size=12))
    p = parse(hello, cuts)
    assert (p.state, p.sni, p.alpn) == (1, name, alpn)


@settings(max_examples=300, deadline=None)
@given(garbage=st.binary(max_size=600), cuts=st.lists(st.integers(min_value=1, max_value=600), max_size=5))
def test_garbage_is_refused_or_waits_for_more_and_never_raises(garbage, cuts):
    p = parse(garbage, cuts)
    assert p.state in (0, 1, 2)
    if p.state == 2:
        assert p.error
    if p.state == 0:
        assert len(garbage) < 16384 + 5 + 5


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_a_corrupted_client_hello_is_refused_or_read_without_raising(data):
    hello = bytearray(client_hello())
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        hello[data.draw(st.integers(min_value=0, max_value=len(hello) - 1))] = data.draw(st.integers(0, 255))
    p = parse(bytes(hello), data.draw(st.lists(st.integers(min_value=1, max_value=len(hello) - 1), max_size=4)))
    assert p.state in (0, 1, 2)


def test_a_hello_over_the_limit_is_refused():
    record = b'\x16\x03\x01\x40\x00' + b'\x01\x00\xff\xff' + b'\x00' * (16384 - 4)
    p = parse(record * 2)
    assert p.state == 2 and 'ClientHello' in p.error


def test_the_parser_takes_a_hello_up_to_its_limit():
    from pipyx._native import TlsHelloParser
    hello = client_hello()
    size = len(hello) - 5                                  # one record: its payload is the whole message
    assert TlsHelloParser(size).feed(hello) == 1
    small = TlsHelloParser(size - 1)
    assert small.feed(hello) == 2 and 'over max_hello_size (%d)' % (size - 1) in small.error


SCRIPT = """
from pipyx import pipy, ctx

F = {files!r}
pipy(backend=None)

def route(hello):
    ctx.backend = '127.0.0.1:{p_b}' if hello.sni == 'b.example' else '127.0.0.1:{p_a}'

pipy().listen({p_router}).handle_tls_client_hello(route).connect(lambda: ctx.backend)
pipy().listen({p_small}).handle_tls_client_hello(route, max_hello_size=200).connect(lambda: ctx.backend)
pipy().listen({p_a}).accept_tls(certificate=F['a']).to(lambda p: p.serve_http(lambda req: 'A:' + ctx.tls.sni))
pipy().listen({p_b}).accept_tls(certificate=F['b']).to(lambda p: p.serve_http(lambda req: 'B:' + ctx.tls.sni))
"""


@pytest.fixture(scope='module')
def certs(tmp_path_factory):
    return Certificates(tmp_path_factory.mktemp('certs'))


@pytest.fixture(scope='module')
def router(tmp_path_factory, certs):
    s = ScriptOnPorts(tmp_path_factory.mktemp('sni_router'), SCRIPT, ('p_router', 'p_small', 'p_a', 'p_b'), files=certs.files)
    yield s
    s.proc.stop()


def test_an_sni_router_passes_tls_through_by_name(router, certs):
    assert tls_get(router.p_router, 'a.example', certs=certs)[1] == b'A:a.example'
    assert tls_get(router.p_router, 'b.example', certs=certs)[1] == b'B:b.example'


def test_plain_text_to_the_router_ends_that_stream_with_one_log_line(router, certs):
    import socket
    mark = len(router.proc.log())
    with socket.create_connection(('127.0.0.1', router.p_router), timeout=5) as s:
        s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
        assert s.recv(100) == b''
    lines = []
    wait_for(lambda: lines.extend(l for l in router.proc.log()[mark:].splitlines()
                                  if 'handle_tls_client_hello' in l) or lines, 3.0)
    assert len(lines) == 1 and 'not a TLS handshake' in lines[0]
    assert tls_get(router.p_router, 'a.example', certs=certs)[0] == 200


def test_max_hello_size_refuses_a_longer_hello_with_one_log_line(router, certs):
    from test.filters.tls_support import handshake_refused
    mark = len(router.proc.log())
    assert handshake_refused(router.p_small, 'a.example', certs=certs)     # Python's hello is over 200 bytes
    lines = []
    wait_for(lambda: lines.extend(l for l in router.proc.log()[mark:].splitlines()
                                  if 'max_hello_size' in l) or lines, 3.0)
    assert len(lines) == 1 and 'over max_hello_size (200)' in lines[0], lines
