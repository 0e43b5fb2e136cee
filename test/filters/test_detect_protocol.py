"""detect_protocol: HTTP/1, the HTTP/2 preface, a TLS ClientHello, or '' — decided from the first bytes, however they
are cut, the bytes passing unchanged."""
import asyncio
import socket
import ssl
import subprocess

import pytest
from hypothesis import given, settings, strategies as st

from pipyx import Data, Message, MessageEnd, MessageStart, StreamEnd
from pipyx._native import detect_protocol
from pipyx.testing import pipeline
from test.helpers import free_port, lacks, wait_for
from test.helpers.streams import feed, split_at, summary, until

PREFACE = b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'
# The first bytes of a real TLS 1.3 ClientHello (record header, handshake header, version, random...).
CLIENT_HELLO = bytes.fromhex('16030100f8010000f40303') + bytes(32) + b'\x20' + bytes(32)

SAMPLES = [
    (b'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 'HTTP'),
    (b'POST /upload?a=1 HTTP/1.0\r\n\r\n', 'HTTP'),
    (b'OPTIONS * HTTP/1.1\r\n\r\n', 'HTTP'),
    (PREFACE + b'\x00\x00\x00\x04\x00\x00\x00\x00\x00', 'HTTP2'),
    (CLIENT_HELLO, 'TLS'),
    (b'SSH-2.0-OpenSSH_9.2\r\n', ''),
    (b'GET / HTTP/2.0\r\n', ''),
    (b'GET /a\r\nb HTTP/1.1\r\n', ''),
    (b'\x16\x03\x01\x00\x10\x02', ''),          # a handshake record, but a ServerHello
    (b'\x10\x0c\x00\x04MQTT\x04\x02\x00<', ''),  # an MQTT CONNECT
]


@pytest.mark.parametrize('data,name', SAMPLES)
def test_detect_protocol_of_first_bytes(data, name):
    assert detect_protocol(data) == name


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(SAMPLES), st.lists(st.integers(0, 80), max_size=8))
def test_same_answer_however_the_bytes_are_cut_and_bytes_unchanged(sample, cuts):
    data, name = sample
    seen = []
    p, c = pipeline(lambda p: p.detect_protocol(seen.append))
    feed(p, [Data(x) for x in split_at(data, cuts)] + [StreamEnd()])
    assert seen == [name]
    assert summary(c.events) == [('data', data), ('stream_end', None)]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_garbage_is_answered_once(junk):
    seen = []
    p, c = pipeline(lambda p: p.detect_protocol(seen.append))
    feed(p, [Data(junk), StreamEnd()])
    assert len(seen) == 1 and seen[0] in ('HTTP', 'HTTP2', 'TLS', '')


def test_undecided_after_max_bytes_is_other():
    seen = []
    p, c = pipeline(lambda p: p.detect_protocol(seen.append, max_bytes=64))
    feed(p, [Data(b'GET /' + b'a' * 50)])
    assert seen == []
    feed(p, [Data(b'a' * 50)])
    assert seen == ['']


def test_undecided_at_the_timeout_is_other():
    async def main():
        seen = []
        p, c = pipeline(lambda p: p.detect_protocol(seen.append, timeout=0.05))
        feed(p, [Data(b'GE')])
        await until(lambda: seen, timeout=2)
        feed(p, [Data(b'T / HTTP/1.1\r\n')])
        return seen, c.events

    seen, events = asyncio.run(main())
    assert seen == ['']
    assert summary(events) == [('data', b'GET / HTTP/1.1\r\n')]


def test_what_the_callback_returns_goes_out_before_the_bytes():
    p, c = pipeline(lambda p: p.detect_protocol(lambda name: Message({'protocol': name})))
    feed(p, [Data(b'GET / HTTP/1.1\r\n\r\n')])
    assert summary(c.events) == [('start', {'protocol': 'HTTP'}), ('end', None), ('data', b'GET / HTTP/1.1\r\n\r\n')]


def test_error_in_the_callback_ends_the_stream():
    p, c = pipeline(lambda p: p.detect_protocol(lambda name: 1 / 0))
    feed(p, [Data(b'GET / HTTP/1.1\r\n'), Data(b'more'), StreamEnd()])
    assert summary(c.events) == [('stream_end', 'RuntimeError')]


def test_detect_protocol_routes_real_clients(run_pipyx, tmp_path):
    # One port: HTTP requests are answered, TLS and anything else are told what they are and closed.
    port = free_port()
    run_pipyx('''
        from pipyx import pipy, ctx, Data, Message, StreamEnd
        pipy(proto=None).listen(%d).detect_protocol(lambda name: setattr(ctx, 'proto', name)).branch(
            lambda: ctx.proto == 'HTTP', lambda p: p.serve_http(lambda req: Message('hello over http')),
            lambda: ctx.proto is not None, lambda p: p.replace_data(
                lambda d: [Data('%%r\\n' %% ctx.proto), StreamEnd()]))
    ''' % port, port=port)
    with socket.create_connection(('127.0.0.1', port), timeout=5) as s:
        s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
        got = b''
        while not got.endswith(b'hello over http'):
            got += s.recv(4096)
        assert got.startswith(b'HTTP/1.1 200')
    with socket.create_connection(('127.0.0.1', port), timeout=5) as s:
        s.sendall(b'\x00\x01 something else entirely' + b'.' * 40)
        assert s.recv(100) == b"''\n"
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(('127.0.0.1', port), timeout=5) as raw:
        with pytest.raises((ssl.SSLError, OSError)):
            ctx.wrap_socket(raw, server_hostname='x')


@pytest.mark.skipif(lacks('curl'), reason='curl is not installed')
def test_tls_and_plain_http_on_one_port_through_accept_tls(run_pipyx, tmp_path):
    # detect_protocol sends a ClientHello to accept_tls and a request line straight to the HTTP server: curl gets
    # the same site both ways, told which way it came, on one port.
    from test.filters.tls_support import Certificates
    certs = Certificates(tmp_path)
    port = free_port()
    run_pipyx('''
        from pipyx import pipy, ctx

        def site(p):
            p.serve_http(lambda req: 'tls=%%s path=%%s' %% (ctx.tls and ctx.tls.sni, req.head.path))

        pipy(proto=None).listen(%d).detect_protocol(lambda name: setattr(ctx, 'proto', name)).branch(
            lambda: ctx.proto == 'TLS', lambda p: p.accept_tls(certificate=%r).to(site),
            lambda: ctx.proto == 'HTTP', site)
    ''' % (port, certs.files['main']), port=port)

    def curl(*args):
        out = subprocess.run(['curl', '-sS', '--http1.1', '--max-time', '10', *args], capture_output=True, timeout=20)
        assert out.returncode == 0, out.stderr
        return out.stdout.decode()

    assert curl('http://127.0.0.1:%d/plain' % port) == 'tls=None path=/plain'
    assert curl('--cacert', certs.files['ca'], '--resolve', 'a.example:%d:127.0.0.1' % port,
                'https://a.example:%d/secure' % port) == 'tls=a.example path=/secure'
    # Both on keep-alive connections too: each request of a connection goes the way its connection came.
    assert curl('http://127.0.0.1:%d/1' % port, 'http://127.0.0.1:%d/2' % port) == 'tls=None path=/1tls=None path=/2'
    assert curl('--cacert', certs.files['ca'], 'https://localhost:%d/1' % port, 'https://localhost:%d/2' % port) == \
        'tls=localhost path=/1tls=localhost path=/2'
