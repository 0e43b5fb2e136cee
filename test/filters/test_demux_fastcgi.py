"""demux_fastcgi: pipyx as a FastCGI application behind a real nginx (fastcgi_pass, with and without
fastcgi_keep_conn), curl as the client; and a raw FastCGI client for what nginx never sends: overlapping requests,
management records, garbage and params that lie."""
import hashlib
import os
import socket
import subprocess
import time

import pytest
from hypothesis import given, settings, strategies as st

from pipyx._native import FastCgiRecordReader, encode_fastcgi_params, encode_fastcgi_record
from test.filters.fastcgi_support import Nginx
from test.helpers import ScriptOnPorts

BEGIN, ABORT, END, PARAMS, STDIN, STDOUT, GET_VALUES, GET_VALUES_RESULT, UNKNOWN = 1, 2, 3, 4, 5, 6, 9, 10, 11

SCRIPT = '''
import hashlib
from pipyx import pipy, ctx, Message


def answer(msg):
    h = msg.head
    body = msg.body.to_bytes()
    if h.path.startswith('/keep/fail'):
        raise RuntimeError('the script failed')
    text = 'method=%s\\npath=%s\\nagent=%s\\nscript=%s\\nkeep=%s\\nlength=%d\\nmd5=%s\\nclient_port=%s\\n' % (
        h.method, h.path, h.headers.get('user-agent'), h.params.get('SCRIPT_FILENAME'), h.keep_conn, len(body),
        hashlib.md5(body).hexdigest(), ctx.inbound.remote_port)
    return Message({{'status': 201, 'headers': {{'content-type': 'text/plain', 'x-answered-by': 'pipyx',
                                                'set-cookie': ['a=1', 'b=2']}}}}, text)


pipy().listen('127.0.0.1:{p_app}').demux_fastcgi().to(lambda p: p.replace_message(answer))
pipy().listen('127.0.0.1:{p_small}').demux_fastcgi(max_params_size=64).to(lambda p: p.replace_message(answer))
'''


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    d = str(tmp_path_factory.mktemp('demux_fastcgi'))
    app = ScriptOnPorts(d, SCRIPT, ('p_app', 'p_small'))
    nginx = Nginx(d, app.p_app)
    yield app, nginx
    nginx.stop()
    app.proc.stop()


def curl(port, path, *args):
    out = subprocess.run(['curl', '-s', '-i', '--max-time', '10', *args, 'http://127.0.0.1:%d%s' % (port, path)],
                         capture_output=True, timeout=20)
    head, _, body = out.stdout.partition(b'\r\n\r\n')
    lines = head.decode('latin-1').split('\r\n')
    headers = [tuple(x.strip() for x in line.split(':', 1)) for line in lines[1:]]
    return int(lines[0].split()[1]), [(k.lower(), v) for k, v in headers], body


def fields(body):
    return dict(line.split('=', 1) for line in body.decode().splitlines() if '=' in line)


def test_a_request_through_nginx_is_answered_by_the_script(site):
    app, nginx = site
    status, headers, body = curl(nginx.port, '/keep/page?x=1', '-A', 'curl-test')
    assert status == 201
    assert ('x-answered-by', 'pipyx') in headers and ('content-type', 'text/plain') in headers
    assert [v for k, v in headers if k == 'set-cookie'] == ['a=1', 'b=2']
    f = fields(body)
    assert f['method'] == 'GET' and f['path'] == '/keep/page?x=1' and f['agent'] == 'curl-test'
    assert f['script'] == '/srv/keep/page' and f['keep'] == 'True'


def test_a_post_body_larger_than_a_record_arrives_whole(site):
    app, nginx = site
    data = os.urandom(300000)
    path = os.path.join(nginx.directory, 'upload.bin')
    with open(path, 'wb') as f:
        f.write(data)
    status, _, body = curl(nginx.port, '/keep/upload', '--data-binary', '@' + path)
    f = fields(body)
    assert status == 201 and f['method'] == 'POST'
    assert f['length'] == str(len(data)) and f['md5'] == hashlib.md5(data).hexdigest()


def test_with_keep_conn_nginx_reuses_its_connection(site):
    app, nginx = site
    ports = {fields(curl(nginx.port, '/keep/n%d' % i)[2])['client_port'] for i in range(6)}
    assert len(ports) == 1


def test_without_keep_conn_the_connection_ends_after_each_answer(site):
    app, nginx = site
    answers = [curl(nginx.port, '/plain/n%d' % i) for i in range(4)]
    assert all(s == 201 for s, _, _ in answers)
    assert all(fields(b)['keep'] == 'False' for _, _, b in answers)
    assert len({fields(b)['client_port'] for _, _, b in answers}) == 4


def test_an_error_in_the_script_is_an_error_status(site):
    app, nginx = site
    status, _, _ = curl(nginx.port, '/keep/fail')
    assert status >= 500
    assert curl(nginx.port, '/keep/after')[0] == 201         # (the connection and the others go on)
    assert 'the script failed' in app.proc.log()


class FastCgiClient:
    """A raw FastCGI client on one connection."""

    def __init__(self, port):
        self.sock = socket.create_connection(('127.0.0.1', port), timeout=5)
        self.reader = FastCgiRecordReader()
        self.records = []

    def send(self, *chunks):
        self.sock.sendall(b''.join(chunks))

    def request(self, rid, params, body=b'', keep=True):
        return b''.join(self.records_of(rid, params, body, keep))

    @staticmethod
    def records_of(rid, params, body=b'', keep=True):
        return [encode_fastcgi_record(BEGIN, rid, bytes([0, 1, 1 if keep else 0, 0, 0, 0, 0, 0])),
                encode_fastcgi_record(PARAMS, rid, encode_fastcgi_params(params)), encode_fastcgi_record(PARAMS, rid),
                encode_fastcgi_record(STDIN, rid, body) if body else b'', encode_fastcgi_record(STDIN, rid)]

    def read_until(self, done, timeout=5):
        deadline = time.monotonic() + timeout
        while not done(self.records):
            if time.monotonic() > deadline:
                raise AssertionError('no answer: %r' % self.records)
            b = self.sock.recv(65536)
            if not b:
                return False
            self.records += self.reader.feed_bytes(b)
        return True

    def closed(self, timeout=5):
        self.sock.settimeout(timeout)
        try:
            while True:
                b = self.sock.recv(65536)
                if not b:
                    return True
                self.records += self.reader.feed_bytes(b)
        except socket.timeout:
            return False

    def stdout(self, rid):
        return b''.join(c for t, i, c in self.records if t == STDOUT and i == rid)

    def ended(self, rid):
        return any(t == END and i == rid for t, i, c in self.records)

    def close(self):
        self.sock.close()


def params(path, method='GET'):
    return {'REQUEST_METHOD': method, 'REQUEST_URI': path, 'SCRIPT_FILENAME': '/x', 'HTTP_USER_AGENT': 'raw',
            'CONTENT_LENGTH': ''}


def test_overlapping_requests_on_one_connection_are_answered_by_id(site):
    app, _ = site
    c = FastCgiClient(app.p_app)
    # Two requests interleaved record by record.
    a = c.records_of(3, params('/three'), b'x' * 10)
    b = c.records_of(9, params('/nine', 'POST'), b'y' * 70000)
    c.send(*[r for pair in zip(b, a) for r in pair])
    c.read_until(lambda r: c.ended(3) and c.ended(9))
    assert b'Status: 201 Created' in c.stdout(3) and b'path=/three' in c.stdout(3)
    assert b'path=/nine' in c.stdout(9) and b'length=70000' in c.stdout(9)
    end = [x for t, i, x in c.records if t == END and i == 9][0]
    assert end == bytes(8)                                  # app status 0, request complete
    c.close()


def test_management_records_are_answered(site):
    app, _ = site
    c = FastCgiClient(app.p_app)
    c.send(encode_fastcgi_record(GET_VALUES, 0, encode_fastcgi_params({'FCGI_MPXS_CONNS': '', 'FCGI_MAX_REQS': ''})),
           encode_fastcgi_record(42, 0, b''))
    c.read_until(lambda r: len(r) >= 2)
    assert c.records[0][0] == GET_VALUES_RESULT and c.records[0][1] == 0
    assert c.records[1] == (UNKNOWN, 0, bytes([42, 0, 0, 0, 0, 0, 0, 0]))
    c.close()


def test_an_unknown_role_is_refused(site):
    app, _ = site
    c = FastCgiClient(app.p_app)
    c.send(encode_fastcgi_record(BEGIN, 1, bytes([0, 2, 1, 0, 0, 0, 0, 0])))
    c.read_until(lambda r: c.ended(1))
    assert [x for t, i, x in c.records if t == END][0][4] == 3      # FCGI_UNKNOWN_ROLE
    c.close()


def test_garbage_closes_that_connection_only(site):
    app, _ = site
    bad = FastCgiClient(app.p_app)
    good = FastCgiClient(app.p_app)
    bad.send(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    assert bad.closed()
    good.send(good.request(1, params('/fine')))
    good.read_until(lambda r: good.ended(1))
    assert b'path=/fine' in good.stdout(1)
    bad.close()
    good.close()
    assert 'not FastCGI' in app.proc.log()


def test_params_whose_lengths_lie_close_the_connection(site):
    app, _ = site
    c = FastCgiClient(app.p_app)
    c.send(encode_fastcgi_record(BEGIN, 1, bytes([0, 1, 1, 0, 0, 0, 0, 0])),
           encode_fastcgi_record(PARAMS, 1, b'\x05\x7fABCDE'), encode_fastcgi_record(PARAMS, 1))
    assert c.closed() and not c.ended(1)
    c.close()


def test_params_over_max_params_size_close_the_connection(site):
    app, _ = site
    c = FastCgiClient(app.p_small)
    c.send(c.request(1, dict(params('/x'), HTTP_COOKIE='c' * 100)))
    assert c.closed() and not c.ended(1)
    assert 'max_params_size' in app.proc.log()
    c.close()


def test_an_aborted_request_is_ended(site):
    app, _ = site
    c = FastCgiClient(app.p_app)
    c.send(encode_fastcgi_record(BEGIN, 5, bytes([0, 1, 1, 0, 0, 0, 0, 0])),
           encode_fastcgi_record(PARAMS, 5, encode_fastcgi_params(params('/slow', 'POST'))),
           encode_fastcgi_record(PARAMS, 5), encode_fastcgi_record(STDIN, 5, b'partial'),
           encode_fastcgi_record(ABORT, 5))
    c.read_until(lambda r: c.ended(5))
    c.send(c.request(6, params('/next')))
    c.read_until(lambda r: c.ended(6))
    assert b'path=/next' in c.stdout(6)
    c.close()


def run_in_process(pieces):
    """demux_fastcgi in this process, answering each request with its path and body size; the records it wrote."""
    from pipyx import Data, Message, StreamEnd
    from pipyx.testing import pipeline
    p, c = pipeline(lambda p: p.demux_fastcgi().to(lambda s: s.replace_message(
        lambda m: Message({'status': 200}, '%s %d' % (m.head.path, m.body.size)))))
    for piece in pieces:
        p.input(Data(piece))
    p.input(StreamEnd())
    out = b''.join(e.to_bytes() for e in c.events if isinstance(e, Data))
    ends = [e.error for e in c.events if isinstance(e, StreamEnd)]
    return FastCgiRecordReader().feed_bytes(out), ends


def cut(data, points):
    points = sorted(p % (len(data) + 1) for p in points)
    return [data[a:b] for a, b in zip([0] + points, points + [len(data)])]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 300), st.binary(max_size=200)), min_size=1, max_size=4,
                unique_by=lambda t: t[0]),
       st.lists(st.integers(0, 10 ** 6), max_size=12))
def test_requests_are_answered_however_the_stream_is_cut(requests, points):
    c = FastCgiClient.__new__(FastCgiClient)
    stream = b''.join(c.request(rid, params('/r%d' % rid, 'POST'), body) for rid, body in requests)
    records, ends = run_in_process(cut(stream, points))
    assert ends == [None]
    for rid, body in requests:
        out = b''.join(x for t, i, x in records if t == STDOUT and i == rid)
        assert out.endswith(b'\r\n\r\n/r%d %d' % (rid, len(body))) and out.startswith(b'Status: 200 OK\r\n')
        assert [x for t, i, x in records if t == END and i == rid] == [bytes(8)]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_garbage_ends_the_stream_with_protocol_error_or_is_ignored(garbage):
    records, ends = run_in_process([garbage])
    assert ends in ([None], ['ProtocolError'])
