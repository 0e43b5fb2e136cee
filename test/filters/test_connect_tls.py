"""connect_tls: TLS to upstreams, under mux_http as an HTTPS keep-alive pool, against nginx (and against pipyx's own
accept_tls): the chain and the name are checked by default (an untrusted or wrong-name upstream is a 502 with a log
line naming the reason), a client certificate for upstream mTLS, sessions resumed across the pool's connections.
"""
import pytest

from test.filters.tls_support import Certificates, Nginx
from test.helpers import RawClient, ScriptOnPorts, req, wait_for

SCRIPT = """
from pipyx import pipy, ctx, Message

F = {files!r}
seen = []

def pool(connect_tls_options, upstream, max_messages=0):
    return lambda p: p.mux_http(max_messages=max_messages).to(
        lambda p: p.connect_tls(**connect_tls_options).to(lambda p: p.connect(upstream)))

def note(info):
    seen.append((info.version, info.alpn, info.resumed, info.peer.subject if info.peer else None))

pipy().listen({p_https}).demux_http().to(pool(dict(trusted=F['ca'], sni='localhost'), '127.0.0.1:{nginx}'))
pipy().listen({p_new_each}).demux_http().to(
    pool(dict(trusted=F['ca'], sni='localhost', handshake=note), '127.0.0.1:{nginx}', max_messages=1))
pipy().listen({p_untrusted}).demux_http().to(pool(dict(trusted=F['other_ca'], sni='localhost'), '127.0.0.1:{nginx}'))
pipy().listen({p_wrong_name}).demux_http().to(pool(dict(trusted=F['ca'], sni='wrong.example'), '127.0.0.1:{nginx}'))
pipy().listen({p_by_ip}).demux_http().to(pool(dict(trusted=F['ca']), '127.0.0.1:{nginx}'))
pipy().listen({p_unverified}).demux_http().to(pool(dict(verify=False), '127.0.0.1:{nginx}'))
pipy().listen({p_mtls}).demux_http().to(
    pool(dict(trusted=F['ca'], sni='localhost', certificate=F['allowed']), '127.0.0.1:{nginx_mtls}'))
pipy().listen({p_mtls_none}).demux_http().to(pool(dict(trusted=F['ca'], sni='localhost'), '127.0.0.1:{nginx_mtls}'))
pipy().listen({p_alpn}).demux_http().to(
    pool(dict(trusted=F['ca'], sni='a.example', alpn=['x-one', 'x-two'], handshake=note), '127.0.0.1:{p_back}'))
pipy().listen({p_back}).accept_tls(certificate=F['main'], alpn=['x-two']).to(
    lambda p: p.serve_http(lambda req: 'back %s %s' % (ctx.tls.sni, ctx.tls.alpn)))
pipy().listen({p_seen}).serve_http(lambda req: repr(seen))
"""

PORTS = ('p_https', 'p_new_each', 'p_untrusted', 'p_wrong_name', 'p_by_ip', 'p_unverified', 'p_mtls', 'p_mtls_none',
         'p_alpn', 'p_back', 'p_seen')


@pytest.fixture(scope='module')
def certs(tmp_path_factory):
    return Certificates(tmp_path_factory.mktemp('certs'))


@pytest.fixture(scope='module')
def setup(tmp_path_factory, certs):
    from test.helpers import Processes
    d = tmp_path_factory.mktemp('connect_tls')
    held = Processes(d)
    nginx = Nginx(held, d, certs)
    s = ScriptOnPorts(d, SCRIPT, PORTS, files=certs.files, nginx=nginx.port, nginx_mtls=nginx.mtls_port)
    yield s, nginx
    s.proc.stop()
    held.stop_all()


def get(port, path='/'):
    with RawClient(port) as c:
        c.send(req(path))
        return c.read_response()


def gets(port, n):
    with RawClient(port) as c:
        out = []
        for i in range(n):
            c.send(req('/%d' % i))
            out.append(c.read_response())
        return out


def log_lines(server, mark, text):
    found = []

    def seen():
        found[:] = [line for line in server.proc.log()[mark:].splitlines() if text in line]
        return found
    wait_for(seen, 3.0)
    return found


def test_mux_http_over_connect_tls_is_a_keep_alive_https_pool(setup):
    s, _ = setup
    rs = gets(s.p_https, 3)
    assert all(r.status == 200 and r.body.startswith(b'nginx TLSv1.3') for r in rs)
    conns = {r.body.split(b'conn=')[1].split()[0] for r in rs}
    assert len(conns) == 1                               # one upstream connection served all three


def test_the_pools_connections_resume_the_tls_session(setup):
    s, _ = setup
    rs = gets(s.p_new_each, 3)
    assert [r.status for r in rs] == [200, 200, 200]
    assert len({r.body.split(b'conn=')[1].split()[0] for r in rs}) == 3
    reused = [r.body.split(b'reused=')[1].strip() for r in rs]
    assert reused[1:] == [b'r', b'r'], reused           # nginx saw the later connections resume a session
    assert 'True' in get(s.p_seen).body.decode()        # and the handshake callback was told


def test_an_untrusted_upstream_is_a_502_with_a_log_line_naming_why(setup):
    s, _ = setup
    mark = len(s.proc.log())
    assert get(s.p_untrusted).status == 502
    lines = log_lines(s, mark, 'connect_tls to')
    assert len(lines) == 1 and 'certificate verify failed' in lines[0], lines


def test_an_upstream_with_the_wrong_name_is_a_502_with_a_log_line_naming_why(setup):
    s, _ = setup
    mark = len(s.proc.log())
    assert get(s.p_wrong_name).status == 502
    lines = log_lines(s, mark, 'connect_tls to')
    assert len(lines) == 1 and 'hostname mismatch' in lines[0] and 'wrong.example' in lines[0], lines


def test_an_ip_address_is_checked_against_the_certificates_ip_names(setup):
    s, _ = setup
    assert get(s.p_by_ip).status == 200


def test_verify_false_accepts_any_upstream(setup):
    s, _ = setup
    assert get(s.p_unverified).status == 200


def test_a_client_certificate_for_upstream_mtls(setup):
    s, _ = setup
    r = get(s.p_mtls)
    assert r.status == 200 and b'CN=allowed.client' in r.body, r.body
    r = get(s.p_mtls_none)
    assert r.status == 400                              # nginx: "No required SSL certificate was sent"


def test_alpn_offered_upstream_and_sni_to_a_pipyx_backend(setup):
    s, _ = setup
    r = get(s.p_alpn)
    assert (r.status, r.body) == (200, b'back a.example x-two')
    assert "'x-two'" in get(s.p_seen).body.decode()


FAILING = """
from pipyx import pipy
F = {files!r}
pipy().listen({p_refused}).demux_http().to(lambda p: p.mux_http().to(
    lambda p: p.connect_tls(trusted=F['ca'], sni='localhost').to(lambda p: p.connect('127.0.0.1:{closed}'))))
pipy().listen({p_stalled}).demux_http().to(lambda p: p.mux_http().to(
    lambda p: p.connect_tls(trusted=F['ca'], sni='localhost', handshake_timeout=0.5).to(
        lambda p: p.connect('127.0.0.1:{silent}', read_timeout=0))))
"""


def test_a_refused_or_silent_upstream_is_an_error_response_and_one_log_line(tmp_path, certs, run_pipyx):
    import socket
    import time
    from test.helpers import free_port
    silent = socket.socket()
    silent.bind(('127.0.0.1', 0))
    silent.listen(8)                                    # accepts, and never says a word
    p_refused, p_stalled, closed = free_port(), free_port(), free_port()
    p = run_pipyx(FAILING.format(files=certs.files, p_refused=p_refused, p_stalled=p_stalled, closed=closed,
                                 silent=silent.getsockname()[1]), port=p_stalled)
    try:
        assert get(p_refused).status == 502
        t = time.monotonic()
        assert get(p_stalled).status == 504
        assert 0.4 <= time.monotonic() - t < 3
        assert wait_for(lambda: 'handshake not finished within 0.5s' in p.log(), 3), p.log()
    finally:
        silent.close()


LIMITED = """
from pipyx import pipy, ctx
F = {files!r}
pipy().listen({p_suites}).demux_http().to(lambda p: p.mux_http().to(
    lambda p: p.connect_tls(trusted=F['ca'], sni='localhost', ciphersuites='TLS_AES_256_GCM_SHA384').to(
        lambda p: p.connect('127.0.0.1:{p_back}'))))
pipy().listen({p_back}).accept_tls(certificate=F['main']).to(lambda p: p.serve_http(lambda req: ctx.tls.cipher))
pipy().listen({p_pending}).connect_tls(trusted=F['ca'], sni='localhost', max_pending_size=1000).to(
    lambda p: p.connect('127.0.0.1:{silent}', read_timeout=0))
"""


def test_ciphersuites_offers_only_those_and_max_pending_size_bounds_what_waits_for_the_handshake(
        tmp_path, certs, run_pipyx):
    import socket
    from test.helpers import closed_within, free_port
    silent = socket.socket()
    silent.bind(('127.0.0.1', 0))
    silent.listen(8)                                    # accepts, and never answers the ClientHello
    p_suites, p_back, p_pending = free_port(), free_port(), free_port()
    p = run_pipyx(LIMITED.format(files=certs.files, p_suites=p_suites, p_back=p_back, p_pending=p_pending,
                                 silent=silent.getsockname()[1]), port=p_pending)
    try:
        r = get(p_suites)
        assert (r.status, r.body) == (200, b'TLS_AES_256_GCM_SHA384')
        with socket.create_connection(('127.0.0.1', p_pending), timeout=5) as c:
            c.sendall(b'x' * 600)
            assert closed_within(c, 0.5) is None          # under the limit: it waits for the handshake
            c.sendall(b'x' * 600)
            assert closed_within(c, 3.0) is not None
        assert wait_for(lambda: 'more than 1000 bytes waiting for the handshake (max_pending_size)' in p.log(), 3), \
            p.log()
    finally:
        silent.close()
