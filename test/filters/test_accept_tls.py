"""accept_tls: TLS terminated by a filter, against real clients (Python's ssl, curl, openssl s_client): what the
handshake settled read from ctx.tls (SNI, ALPN, version, cipher, the client's certificate), certificates chosen by
SNI name, client certificates required, optional or judged by a callback, and what ends one connection with one log
line (plain HTTP, garbage, a missing certificate, a stalled handshake). In-process, a handshake whose records are
split anywhere, and corrupted ones, end cleanly.
"""
import json
import socket
import ssl
import subprocess
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from test.filters.tls_support import Certificates, handshake_refused, tls_get
from test.helpers import RawClient, ScriptOnPorts, closed_within, lacks, wait_for

SCRIPT = """
import json
from pipyx import pipy, ctx, Message

F = {files!r}
sni_calls = []

def info(req):
    t = ctx.tls
    peer = t.peer
    return Message({{'status': 200}}, json.dumps({{
        'sni': t.sni, 'alpn': t.alpn, 'version': t.version, 'cipher': t.cipher, 'resumed': t.resumed,
        'subject': peer and peer.subject, 'issuer': peer and peer.issuer, 'sans': peer and peer.sans,
        'fingerprint': peer and peer.fingerprint, 'sni_calls': sni_calls}}))

def by_name(name):
    sni_calls.append(name)
    return {{'a.example': F['a'], 'b.example': (F['b']['cert'], F['b']['key'])}}.get(name)

def choose(offer):
    return 'second' if 'second' in offer else None

def sized(req):
    body = req.body.to_bytes() if req.body.size else b'x' * 3000000
    return Message({{'status': 200, 'headers': {{'content-length': str(len(body))}}}}, body)

def allowed(ok, cert):
    return ok and 'allowed' in cert.subject

pipy().listen({p_main}).accept_tls(certificate=F['main'], alpn=['http/1.1']).to(lambda p: p.serve_http(info))
pipy().listen({p_sni}).accept_tls(certificate=by_name).to(lambda p: p.serve_http(info))
pipy().listen({p_mtls}).accept_tls(certificate=F['main'], trusted=F['ca']).to(lambda p: p.serve_http(info))
pipy().listen({p_optional}).accept_tls(certificate=F['main'], trusted=F['ca'], verify='optional').to(
    lambda p: p.serve_http(info))
pipy().listen({p_judged}).accept_tls(certificate=F['main'], trusted=F['ca'], verify=allowed).to(
    lambda p: p.serve_http(info))
pipy().listen({p_alpn}).accept_tls(certificate=F['main'], alpn=choose).to(lambda p: p.serve_http(info))
pipy().listen({p_tls13}).accept_tls(certificate=F['main'], min_version='TLSv1.3', handshake_timeout=0.5).to(
    lambda p: p.serve_http(info))
pipy().listen({p_route}).accept_tls(certificate=F['main']).to(
    lambda p: p.branch(lambda: ctx.tls.sni == 'a.example', lambda p: p.serve_http('site A'),
                       lambda p: p.serve_http('site B')))
pipy().listen({p_echo}).accept_tls(certificate=F['main']).to(
    lambda p: p.serve_http(sized))
"""

PORTS = ('p_main', 'p_sni', 'p_mtls', 'p_optional', 'p_judged', 'p_alpn', 'p_tls13', 'p_route', 'p_echo')


@pytest.fixture(scope='module')
def certs(tmp_path_factory):
    return Certificates(tmp_path_factory.mktemp('certs'))


@pytest.fixture(scope='module')
def server(tmp_path_factory, certs):
    s = ScriptOnPorts(tmp_path_factory.mktemp('accept_tls'), SCRIPT, PORTS, files=certs.files)
    yield s
    s.proc.stop()


def info_of(body):
    return json.loads(body)


def log_lines_after(server, mark, text, timeout=3.0):
    """The log lines written since mark (a length of the log) that contain text, once there is one."""
    found = []

    def seen():
        found[:] = [line for line in server.proc.log()[mark:].splitlines() if text in line]
        return found
    wait_for(seen, timeout)
    return found


# -------------------------------------------------------------------------------------------- what ctx.tls tells

def test_a_python_client_gets_the_page_and_the_handshake_is_in_ctx_tls(server, certs):
    status, body, peer, version, alpn = tls_get(server.p_main, 'localhost', certs=certs, alpn=['h2', 'http/1.1'])
    info = info_of(body)
    assert status == 200
    assert (info['sni'], info['alpn'], info['version']) == ('localhost', 'http/1.1', 'TLSv1.3')
    assert alpn == 'http/1.1' and version == 'TLSv1.3'
    assert info['cipher'].startswith('TLS_') and info['subject'] is None


@pytest.mark.skipif(lacks('curl'), reason='curl is not installed')
def test_curl_with_resolve_sends_the_sni_name_and_verifies_the_chain(server, certs):
    out = subprocess.run(['curl', '-sS', '--http1.1', '--cacert', certs.files['ca'],
                          '--resolve', 'a.example:%d:127.0.0.1' % server.p_main,
                          'https://a.example:%d/' % server.p_main, 'https://a.example:%d/again' % server.p_main],
                         capture_output=True, timeout=20)
    assert out.returncode == 0, out.stderr
    first, second = out.stdout.decode().replace('}{', '}\n{').splitlines()
    assert info_of(first)['sni'] == 'a.example' and info_of(second)['sni'] == 'a.example'


@pytest.mark.skipif(lacks('openssl'), reason='openssl is not installed')
@pytest.mark.parametrize('flag,version', [('-tls1_2', 'TLSv1.2'), ('-tls1_3', 'TLSv1.3')])
def test_openssl_s_client_negotiates_the_version_and_alpn_it_asks_for(server, certs, flag, version):
    out = subprocess.run(['openssl', 's_client', '-connect', '127.0.0.1:%d' % server.p_main, '-servername',
                          'b.example', flag, '-alpn', 'h2,http/1.1', '-CAfile', certs.files['ca'], '-quiet',
                          '-verify_return_error'],
                         input=b'GET / HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n', capture_output=True,
                         timeout=20)
    body = out.stdout.partition(b'\r\n\r\n')[2]
    info = info_of(body)
    assert (info['version'], info['alpn'], info['sni']) == (version, 'http/1.1', 'b.example')


def test_alpn_as_a_callable_chooses_from_the_offer(server, certs):
    assert tls_get(server.p_alpn, certs=certs, alpn=['first', 'second'])[4] == 'second'
    assert tls_get(server.p_alpn, certs=certs, alpn=['first'])[4] is None


def test_min_version_refuses_an_older_client(server, certs):
    assert tls_get(server.p_tls13, certs=certs, version='1.3')[0] == 200
    mark = len(server.proc.log())
    with pytest.raises(ssl.SSLError):
        tls_get(server.p_tls13, certs=certs, version='1.2')
    assert len(log_lines_after(server, mark, 'accept_tls from 127.0.0.1')) == 1


def test_a_script_routes_on_the_sni_name(server, certs):
    assert tls_get(server.p_route, 'a.example', certs=certs)[1] == b'site A'
    assert tls_get(server.p_route, 'b.example', certs=certs)[1] == b'site B'


def test_big_bodies_both_ways_and_pipelined_requests_cross_many_records(server, certs):
    body = bytes(range(256)) * 4000                 # 1 MB up, in many records
    with RawClient(server.p_echo, timeout=10) as c:
        c.sock = certs.client_context().wrap_socket(c.sock, server_hostname='localhost')
        c.send(b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n' % len(body) + body
               + b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
        first, second = c.read_response(), c.read_response()
    assert first.status == 200 and first.body == body
    assert second.status == 200 and second.body == b'x' * 3000000


# ---------------------------------------------------------------------------------------------- certificates by SNI

def test_a_certificate_callable_picks_the_certificate_by_name_once_per_name(server, certs):
    _, body, peer, _, _ = tls_get(server.p_sni, 'a.example', certs=certs)
    assert ('DNS', 'a.example') in peer['subjectAltName']
    _, body, peer, _, _ = tls_get(server.p_sni, 'b.example', certs=certs)
    assert ('DNS', 'b.example') in peer['subjectAltName']
    for _ in range(3):
        _, body, _, _, _ = tls_get(server.p_sni, 'a.example', certs=certs)
    assert info_of(body)['sni_calls'] == ['a.example', 'b.example']


def test_a_name_without_a_certificate_is_refused_with_one_log_line(server, certs):
    mark = len(server.proc.log())
    ctx = certs.client_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with pytest.raises(ssl.SSLError):
        tls_get(server.p_sni, 'nobody.example', context=ctx)
    assert 'nobody.example' in log_lines_after(server, mark, 'accept_tls from')[0]
    assert tls_get(server.p_sni, 'a.example', certs=certs)[0] == 200          # the port still serves


# ------------------------------------------------------------------------------------------- client certificates

def test_a_required_client_certificate_is_checked_and_told_to_the_script(server, certs):
    _, body, _, _, _ = tls_get(server.p_mtls, certs=certs, cert='allowed')
    info = info_of(body)
    assert 'CN=allowed.client' in info['subject']
    assert 'DNS:allowed.client@example.com' in info['sans'] or any('allowed.client' in s for s in info['sans'])
    with open(certs.files['allowed']['cert'], 'rb') as f:
        der = ssl.PEM_cert_to_DER_cert(f.read().decode().split('-----END CERTIFICATE-----')[0]
                                       + '-----END CERTIFICATE-----\n')
    import hashlib
    assert info['fingerprint'] == hashlib.sha256(der).hexdigest()


def test_a_missing_client_certificate_ends_that_connection_with_one_log_line(server, certs):
    mark = len(server.proc.log())
    assert handshake_refused(server.p_mtls, certs=certs)
    lines = log_lines_after(server, mark, 'accept_tls from')
    assert len(lines) == 1 and 'certificate' in lines[0], lines
    assert tls_get(server.p_mtls, certs=certs, cert='allowed')[0] == 200


def test_an_optional_client_certificate_may_be_left_out(server, certs):
    assert info_of(tls_get(server.p_optional, certs=certs)[1])['subject'] is None
    assert 'allowed.client' in info_of(tls_get(server.p_optional, certs=certs, cert='allowed')[1])['subject']


def test_a_verify_callback_has_the_last_word(server, certs):
    assert tls_get(server.p_judged, certs=certs, cert='allowed')[0] == 200
    mark = len(server.proc.log())
    assert handshake_refused(server.p_judged, certs=certs, cert='denied')
    assert 'refused by the verify callback' in log_lines_after(server, mark, 'accept_tls from')[0]


# ----------------------------------------------------------------------------------------------------- bad input

def raw_exchange(port, data, timeout=3.0):
    with socket.create_connection(('127.0.0.1', port), timeout=timeout) as s:
        s.sendall(data)
        got = b''
        try:
            while True:
                b = s.recv(4096)
                if not b:
                    break
                got += b
        except ConnectionResetError:
            pass                         # the connection was ended on a bad handshake: what came before is the answer
        return got


def test_plain_http_to_the_tls_port_ends_that_connection_with_one_log_line(server, certs):
    mark = len(server.proc.log())
    got = raw_exchange(server.p_main, b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    assert b'HTTP/1.1' not in got
    lines = log_lines_after(server, mark, 'accept_tls from')
    assert len(lines) == 1 and 'plain HTTP' in lines[0], lines
    assert tls_get(server.p_main, certs=certs)[0] == 200


def test_a_garbage_client_hello_ends_that_connection_with_one_log_line(server, certs):
    mark = len(server.proc.log())
    got = raw_exchange(server.p_main, b'\x16\x03\x01\x00\x30' + b'\x01\x00\x00\x2c' + b'\xee' * 44)
    assert got[:1] in (b'', b'\x15')                   # nothing, or an alert
    lines = log_lines_after(server, mark, 'accept_tls from')
    assert len(lines) == 1, lines


def test_a_stalled_handshake_times_out_with_one_log_line(server, certs):
    mark = len(server.proc.log())
    with socket.create_connection(('127.0.0.1', server.p_tls13), timeout=5) as s:
        s.sendall(b'\x16\x03\x01\x02\x00\x01')          # the start of a ClientHello, then nothing
        took = closed_within(s, 4.0)
    assert took is not None and 0.3 <= took < 3.0, took
    lines = log_lines_after(server, mark, 'handshake not finished')
    assert len(lines) == 1, lines


# ---------------------------------------------------------------------- records split anywhere, corrupted records

@pytest.fixture(scope='module')
def in_process(certs):
    from pipyx import Message
    from pipyx.testing import layout
    return layout(lambda p: p.accept_tls(certificate=certs.files['main']).to(
        lambda p: p.serve_http(Message('hello'))))


def drive(layout, ctx, cuts, corrupt_at=None):
    """A TLS client over memory, its records fed to the filter in pieces cut at cuts (and one byte flipped at
    corrupt_at); returns (what the client read, the stream's end error or None, whether the client gave up)."""
    from pipyx import Data, StreamEnd
    from pipyx._native import EventCollector
    col = EventCollector()
    p = layout.start(col)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    c = ctx.wrap_bio(inc, out, server_hostname='localhost')
    sent = [0]
    ended = []

    def pump():
        b = bytearray(out.read())
        if corrupt_at is not None and sent[0] <= corrupt_at < sent[0] + len(b):
            b[corrupt_at - sent[0]] ^= 0x5a
        start = sent[0]
        sent[0] += len(b)
        pos = 0
        for cut in sorted(x - start for x in cuts if start < x < start + len(b)) + [len(b)]:
            if cut > pos:
                p.input(Data(bytes(b[pos:cut])))
                pos = cut
        for e in col.events:
            if isinstance(e, Data):
                inc.write(e.to_bytes())
            elif isinstance(e, StreamEnd):
                ended.append(e.error)
        col.events.clear()
    got = b''
    client_failed = False
    try:
        for _ in range(6):
            try:
                c.do_handshake()
                break
            except ssl.SSLWantReadError:
                pump()
                if ended:
                    return got, ended[0], False
        c.write(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
        pump()
        got = c.read(4096)
    except ssl.SSLError:
        client_failed = True
    return got, (ended[0] if ended else None), client_failed


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(min_value=1, max_value=3000), max_size=8))
def test_records_split_anywhere_make_the_same_exchange(in_process, certs, cuts):
    got, error, _ = drive(in_process, certs.client_context(), cuts)
    assert got.endswith(b'\r\n\r\nhello') and error is None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(at=st.integers(min_value=0, max_value=700), cuts=st.lists(st.integers(min_value=1, max_value=700), max_size=3))
def test_a_corrupted_byte_ends_the_stream_or_changes_nothing(in_process, certs, at, cuts):
    got, error, client_failed = drive(in_process, certs.client_context(), cuts, corrupt_at=at)
    assert got.endswith(b'hello') or error == 'ProtocolError' or client_failed


# ---------------------------------------------------------------------------------------------------- load errors

def expired_pair(directory):
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'old')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - datetime.timedelta(days=10))
            .not_valid_after(now - datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    (directory / 'old.pem').write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / 'old.key').write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                          serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))
    return str(directory / 'old.pem'), str(directory / 'old.key')


def test_a_bad_certificate_is_a_load_error_naming_what_is_wrong(certs, tmp_path):
    from pipyx.config import ScriptError
    from pipyx.testing import layout

    def load(**options):
        with pytest.raises(ScriptError) as e:
            layout(lambda p: p.accept_tls(**options).to(lambda p: p.serve_http('x')))
        return str(e.value)
    assert 'cannot read' in load(certificate=(str(tmp_path / 'missing.pem'), certs.files['main']['key']))
    assert 'does not match' in load(certificate=(certs.files['main']['cert'], certs.files['a']['key']))
    assert 'expired' in load(certificate=expired_pair(tmp_path))
    assert 'min_version' in load(certificate=certs.files['main'], min_version='TLSv9')
    assert 'needs the trusted CAs' in load(certificate=certs.files['main'], verify=True)
    text = open(certs.files['main']['cert']).read()
    key = open(certs.files['main']['key']).read()
    layout(lambda p: p.accept_tls(certificate=(text, key)).to(lambda p: p.serve_http('x')))   # PEM text works too


# ------------------------------------------------------------------------------------ certificates with a reload

def answer_for(port, name, certs):
    """The body a new TLS connection asking for name gets, or None when its handshake fails."""
    try:
        return tls_get(port, name, certs=certs, timeout=2.0)[1]
    except (ssl.SSLError, OSError):
        return None


RELOADED = """
from pipyx import pipy
pipy().listen({port}).accept_tls(certificate={pair!r}).to(lambda p: p.serve_http('{answer}'))
"""


def test_a_reload_swaps_the_certificate_and_a_broken_one_keeps_the_running_version(certs, tmp_path, run_pipyx):
    import signal
    from test.helpers import free_port
    port = free_port()
    path = tmp_path / 'main.py'
    path.write_text(RELOADED.format(port=port, pair=certs.files['a'], answer='v1'))
    p = run_pipyx(path=path, port=port)
    held_ctx = certs.client_context()
    with socket.create_connection(('127.0.0.1', port), timeout=5) as raw, \
            held_ctx.wrap_socket(raw, server_hostname='a.example') as held:     # open across both reloads
        held.sendall(b'GET / HTTP/1.1\r\nHost: a\r\n\r\n')
        assert held.recv(1000).endswith(b'v1')
        path.write_text(RELOADED.format(port=port, pair=certs.files['b'], answer='v2'))
        p.signal(signal.SIGHUP)
        assert wait_for(lambda: answer_for(port, 'b.example', certs) == b'v2', 5), p.log()   # (a's until then)
        path.write_text(RELOADED.format(port=port, pair=(certs.files['b']['cert'], certs.files['a']['key']),
                                        answer='v3'))
        p.signal(signal.SIGHUP)
        assert wait_for(lambda: 'reload failed' in p.log(), 5), p.log()
        assert 'does not match' in p.log()
        assert tls_get(port, 'b.example', certs=certs)[1] == b'v2'
        held.sendall(b'GET / HTTP/1.1\r\nHost: a\r\n\r\n')
        assert held.recv(1000).endswith(b'v1')                                   # not dropped, its pipeline kept


# ---------------------------------------------------------------------------- TLS 1.3 suites and the hello's limit

OPTIONS = """
from pipyx import pipy, ctx
F = {files!r}
pipy().listen({p_suites}).accept_tls(certificate=F['main'], ciphersuites=['TLS_CHACHA20_POLY1305_SHA256']).to(
    lambda p: p.serve_http(lambda req: ctx.tls.cipher))
pipy().listen({p_small}).accept_tls(certificate=F['main'], max_hello_size=200).to(lambda p: p.serve_http('small'))
"""


def test_ciphersuites_chooses_the_tls13_suite_and_max_hello_size_refuses_a_longer_hello(certs, run_pipyx):
    from test.helpers import free_port
    p_suites, p_small = free_port(), free_port()
    p = run_pipyx(OPTIONS.format(files=certs.files, p_suites=p_suites, p_small=p_small), port=p_small)
    status, body, _, version, _ = tls_get(p_suites, certs=certs)
    assert (status, body, version) == (200, b'TLS_CHACHA20_POLY1305_SHA256', 'TLSv1.3')
    # The client's ClientHello (over 200 bytes) is refused from its first bytes, with one line naming the option.
    assert handshake_refused(p_small, certs=certs)
    assert wait_for(lambda: 'over max_hello_size (200)' in p.log(), 3), p.log()
    assert p.log().count('over max_hello_size') == 1


def test_the_default_hello_limit_refuses_a_hello_declared_over_16_kib(server, certs):
    mark = len(server.proc.log())
    got = raw_exchange(server.p_main, b'\x16\x03\x01\x40\x00' + b'\x01\x00\x50\x00' + b'\x00' * 200)
    assert got[:1] in (b'', b'\x15')
    lines = log_lines_after(server, mark, 'accept_tls from')
    assert len(lines) == 1 and 'ClientHello of 20484 bytes, over max_hello_size (16384)' in lines[0], lines
    assert tls_get(server.p_main, certs=certs)[0] == 200


def test_a_bad_ciphersuite_or_limit_is_a_load_error(certs):
    from pipyx.config import ScriptError
    from pipyx.testing import layout
    with pytest.raises(ScriptError, match="'TLS_NOPE' is not a TLS 1.3 cipher suite"):
        layout(lambda p: p.accept_tls(certificate=certs.files['main'],
                                      ciphersuites='TLS_AES_128_GCM_SHA256:TLS_NOPE').to(lambda p: p.dummy()))
    with pytest.raises(ScriptError, match='max_hello_size is a number of bytes'):
        layout(lambda p: p.accept_tls(certificate=certs.files['main'], max_hello_size=-1).to(lambda p: p.dummy()))


WATCHED = """
from pipyx import pipy
pipy().listen({port}).accept_tls(certificate=({cert!r}, {key!r})).to(lambda p: p.serve_http('hello'))
"""


def copy_pair(pair, cert_path, key_path):
    for source, target in ((pair['key'], key_path), (pair['cert'], cert_path)):
        target.write_bytes(open(source, 'rb').read())


def test_watch_reloads_when_a_certificate_file_changes_and_a_bad_one_keeps_the_running_version(
        certs, tmp_path, run_pipyx):
    from test.helpers import free_port
    port = free_port()
    app, keys = tmp_path / 'app', tmp_path / 'keys'          # the certificate lives outside the script's directory
    app.mkdir()
    keys.mkdir()
    cert, key = keys / 'cert.pem', keys / 'key.pem'
    copy_pair(certs.files['a'], cert, key)
    (app / 'main.py').write_text(WATCHED.format(port=port, cert=str(cert), key=str(key)))
    p = run_pipyx(path=app, port=port, args=['--watch'])
    assert answer_for(port, 'a.example', certs) == b'hello'
    with socket.create_connection(('127.0.0.1', port), timeout=5) as raw, \
            certs.client_context().wrap_socket(raw, server_hostname='a.example') as held:
        held.sendall(b'GET / HTTP/1.1\r\nHost: a\r\n\r\n')
        assert held.recv(1000).endswith(b'hello')
        copy_pair(certs.files['b'], cert, key)
        assert wait_for(lambda: answer_for(port, 'b.example', certs) == b'hello', 5), p.log()
        mark = len(p.log())
        key.write_bytes(open(certs.files['a']['key'], 'rb').read())           # a key of another certificate
        assert wait_for(lambda: 'does not match' in p.log()[mark:], 5), p.log()
        assert 'reload failed' in p.log()[mark:]
        assert answer_for(port, 'b.example', certs) == b'hello'
        mark = len(p.log())
        key.unlink()                                                           # the key gone
        assert wait_for(lambda: 'cannot read %s' % key in p.log()[mark:], 5), p.log()
        assert answer_for(port, 'b.example', certs) == b'hello'
        held.sendall(b'GET / HTTP/1.1\r\nHost: a\r\n\r\n')                    # open all along, its pipeline kept
        assert held.recv(1000).endswith(b'hello')


PUBLISHED = """
from pipyx import pipy
pipy().listen({port}).accept_tls(certificate=('cert.pem', 'key.pem')).to(lambda p: p.serve_http('v{n}'))
"""


def test_a_certificate_published_to_the_repo_reaches_new_connections_and_a_bad_one_is_refused(
        certs, tmp_path, run_pipyx):
    from test.helpers import REPO_TOKEN, RepoServer, free_port
    port = free_port()
    repo = RepoServer(str(tmp_path / 'repo'), free_port(), token_option=True).ready()

    def publish(n, cert, key):
        return repo.publish('site', {'main.py': PUBLISHED.format(port=port, n=n), 'cert.pem': open(cert).read(),
                                     'key.pem': open(key).read()})

    try:
        publish(1, certs.files['a']['cert'], certs.files['a']['key'])
        p = run_pipyx(args=['http://127.0.0.1:%d/repo/site/' % repo.port, '--repo-cache', str(tmp_path / 'cache')],
                      env={'PIPYX_REPO_TOKEN': REPO_TOKEN}, port=port)
        assert answer_for(port, 'a.example', certs) == b'v1'
        with socket.create_connection(('127.0.0.1', port), timeout=5) as raw, \
                certs.client_context().wrap_socket(raw, server_hostname='a.example') as held:
            held.sendall(b'GET / HTTP/1.1\r\nHost: a\r\n\r\n')
            assert held.recv(1000).endswith(b'v1')
            publish(2, certs.files['b']['cert'], certs.files['b']['key'])
            assert wait_for(lambda: answer_for(port, 'b.example', certs) == b'v2', 10), p.log()
            assert answer_for(port, 'a.example', certs) is None                 # b's certificate does not name a.example
            old_cert, old_key = expired_pair(tmp_path)
            for n, (cert, key), why in ((3, (certs.files['a']['cert'], certs.files['b']['key']), 'does not match'),
                                        (4, (old_cert, old_key), 'the certificate has expired')):
                mark = len(p.log())
                publish(n, cert, key)
                assert wait_for(lambda: why in p.log()[mark:], 10), p.log()
                assert answer_for(port, 'b.example', certs) == b'v2'
            repo.publish('site', {'main.py': PUBLISHED.format(port=port, n=5).replace("'key.pem'", "'nokey.pem'"),
                                  'cert.pem': open(certs.files['b']['cert']).read()})      # and no nokey.pem
            assert wait_for(lambda: 'cannot read' in p.log() and 'nokey.pem' in p.log(), 10), p.log()
            assert answer_for(port, 'b.example', certs) == b'v2'
            held.sendall(b'GET / HTTP/1.1\r\nHost: a\r\n\r\n')
            assert held.recv(1000).endswith(b'v1')                 # not dropped: it keeps the version it began on
    finally:
        repo.stop()


# ------------------------------------------------------------------------------------------- serve_files over TLS

FILES = """
from pipyx import pipy
pipy().listen({port}).accept_tls(certificate={pair!r}).to(
    lambda p: p.serve_files({root!r}, max_file_size=4096, cache_header='x-cache'))
"""


def test_serve_files_over_tls_sends_cached_files_and_file_spans_whole(certs, tmp_path, run_pipyx):
    from test.helpers import free_port
    root = tmp_path / 'www'
    root.mkdir()
    small, big = b'small file\n' * 100, bytes(range(256)) * 3000          # 1.1 KB cached; 768 KB a span of the file
    (root / 'small.txt').write_bytes(small)
    (root / 'big.bin').write_bytes(big)
    port = free_port()
    run_pipyx(FILES.format(port=port, pair=certs.files['main'], root=str(root)), port=port)
    with socket.create_connection(('127.0.0.1', port), timeout=5) as raw, \
            certs.client_context().wrap_socket(raw, server_hostname='localhost') as s:
        f = s.makefile('rb')

        def fetch(path, extra=b''):
            s.sendall(b'GET ' + path + b' HTTP/1.1\r\nHost: x\r\n' + extra + b'\r\n')
            status = int(f.readline().split()[1])
            headers = {}
            while True:
                line = f.readline().strip()
                if not line:
                    break
                k, _, v = line.partition(b':')
                headers[k.strip().lower()] = v.strip()
            return status, headers, f.read(int(headers[b'content-length']))

        for _ in range(2):                                                    # a miss, then a hit
            assert fetch(b'/small.txt')[::2] == (200, small)
        status, headers, body = fetch(b'/big.bin')
        assert (status, len(body), body == big) == (200, len(big), True)
        status, headers, body = fetch(b'/big.bin', b'Range: bytes=100000-399999\r\n')
        assert (status, body == big[100000:400000]) == (206, True)
        assert fetch(b'/small.txt', b'Range: bytes=10-19\r\n')[::2] == (206, small[10:20])


BY_CALLABLE = """
from pipyx import pipy
pipy().listen({port}).accept_tls(certificate=lambda name: ({cert!r}, {key!r})).to(lambda p: p.serve_http('hello'))
"""


def test_watch_follows_the_files_a_certificate_callable_named(certs, tmp_path, run_pipyx):
    from test.helpers import free_port
    port = free_port()
    app, keys = tmp_path / 'app', tmp_path / 'keys'
    app.mkdir()
    keys.mkdir()
    cert, key = keys / 'cert.pem', keys / 'key.pem'
    copy_pair(certs.files['a'], cert, key)
    (app / 'main.py').write_text(BY_CALLABLE.format(port=port, cert=str(cert), key=str(key)))
    p = run_pipyx(path=app, port=port, args=['--watch'])

    def names_served():
        try:
            return [v for k, v in tls_get(port, 'a.example', certs=certs, timeout=2.0)[2]['subjectAltName']]
        except (ssl.SSLError, OSError):
            return None

    assert names_served() == ['a.example']                  # the callable ran: its files are watched from now
    time.sleep(1.2)
    assert 'reloading' not in p.log()                       # being read is no change
    copy_pair(certs.files['main'], cert, key)
    assert wait_for(lambda: names_served() == ['localhost', '127.0.0.1', 'a.example', 'b.example'], 5), p.log()
