"""Big uploads to the repo server: a write without the right token is refused from its head, while the client is
still sending, without the server holding the body, nor does it hold a body that no answer reads; a body over
--max-file-size is refused from its Content-Length. Against real `python -m pipyx.repo` processes on 127.0.0.1."""
import json
import socket
import subprocess
import threading
import time

import pytest

from test.helpers import REPO_TOKEN, RawClient, RepoServer, free_port, lacks, no_traceback, req, vm_rss_kb

MB = 1 << 20
UPLOAD = 60 * MB
PIECE = b'u' * MB
RSS_GROWTH_KB = 20 * 1024


@pytest.fixture(scope='module')
def repo(tmp_path_factory):
    """A server with the default limits (64 MiB a file), and a codebase that uploads aim at."""
    server = RepoServer(tmp_path_factory.mktemp('repo'), free_port()).ready()
    assert server.api('POST', '/api/v1/codebases', {'name': 'big'})[0] == 201
    yield server
    assert server.stop() == 0, server.log()
    no_traceback(server.log())


@pytest.fixture(scope='module')
def small(tmp_path_factory):
    """A server that takes files up to 1 MiB and, once it has closed a connection on a client still sending, reads
    what it sends for 1 s at most."""
    server = RepoServer(tmp_path_factory.mktemp('small'), free_port(),
                        extra=['--max-file-size', str(MB), '--linger-time', '1']).ready()
    assert server.api('POST', '/api/v1/codebases', {'name': 'big'})[0] == 201
    yield server
    assert server.stop() == 0, server.log()
    no_traceback(server.log())


def reset_peak_rss(pid):
    """Starts the process's VmHWM afresh from its current RSS; False where /proc does not let us."""
    try:
        with open('/proc/%d/clear_refs' % pid, 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def peak_rss_kb(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1])
    raise AssertionError('no VmHWM for %d' % pid)


def files_of(server, name):
    status, _, body = server.api('GET', '/api/v1/codebases/' + name)
    assert status == 200, body
    return json.loads(body)['files']


def put_head(path, length, headers=(), version='HTTP/1.1'):
    return req(path, 'PUT', headers=[('Content-Length', str(length))] + list(headers), version=version)


def upload_then_read(port, head, size, timeout=60.0):
    """A client that sends head and size bytes of body, all of it, before it reads the answer (as http.client and
    urllib do). Returns (the Response, the open RawClient)."""
    c = RawClient(port, timeout=timeout)
    try:
        c.send(head)
        for _ in range(size // MB):
            c.send(PIECE)
        return c.read_response(), c
    except BaseException:
        c.close()
        raise


def upload_in_parallel(server, heads):
    """Sends each of heads ({name: request head}) with UPLOAD bytes of body, each on its own connection and all at
    once, every client reading only once it has sent everything. Returns ({name: (Response, open RawClient)},
    {name: exception}, how far the server's memory grew meanwhile, in kB)."""
    rss_before = vm_rss_kb(server.pid)
    exact_peak = reset_peak_rss(server.pid)
    results, errors = {}, {}

    def run(name, head):
        try:
            results[name] = upload_then_read(server.port, head, UPLOAD)
        except Exception as e:              # the caller reports them, with the others
            errors[name] = e

    threads = [threading.Thread(target=run, args=item) for item in heads.items()]
    for t in threads:
        t.start()
    sampled = rss_before
    while any(t.is_alive() for t in threads):
        sampled = max(sampled, vm_rss_kb(server.pid))
        time.sleep(0.01)
    for t in threads:
        t.join()
    peak = max(sampled, peak_rss_kb(server.pid) if exact_peak else 0)
    return results, errors, peak - rss_before


def test_uploads_without_the_token_are_refused_without_holding_their_body(repo):
    path = '/api/v1/codebases/big/files/blob.bin'
    results, errors, growth = upload_in_parallel(repo, {
        'no token': put_head(path, UPLOAD),
        'wrong token': put_head(path, UPLOAD, [('Authorization', 'Bearer nope')]),
        'connection close': put_head(path, UPLOAD, [('Connection', 'close')]),
        'HTTP/1.0': put_head(path, UPLOAD, version='HTTP/1.0'),
    })
    try:
        assert not errors, errors
        for name, (r, _) in results.items():
            expected = 403 if name == 'wrong token' else 401
            assert r.status == expected and 'error' in json.loads(r.body), (name, r)
        assert results['no token'][0].header('www-authenticate') == 'Bearer'
        assert growth < RSS_GROWTH_KB, 'the server grew by %d kB' % growth
        # Each body was read to its end and dropped: a kept-alive connection carries on with the next request.
        # The others the server closed after the answer, reading and dropping what their client still sent.
        for name in ('no token', 'wrong token'):
            c = results[name][1]
            status, text = c.get('/api/v1/codebases/big')
            assert status == 200 and json.loads(text)['files'] == [], name
        for name in ('connection close', 'HTTP/1.0'):
            assert results[name][1].is_closed(timeout=5.0), name
    finally:
        for _, c in results.values():
            c.close()
    assert files_of(repo, 'big') == []


def test_bodies_that_no_answer_reads_are_not_held(repo):
    """A read with a body, or a write outside /api/v1/, is answered from its head as a refused write is: its body
    is dropped as it arrives, whoever sends it."""
    length = [('Content-Length', str(UPLOAD))]
    expected = {'GET with a body': 200, 'PUT to /repo/': 405}
    results, errors, growth = upload_in_parallel(repo, {
        'GET with a body': req('/api/v1/codebases/big', 'GET', headers=length),
        'PUT to /repo/': req('/repo/big/files/blob.bin', 'PUT', headers=length),
    })
    try:
        assert not errors, errors
        for name, (r, c) in results.items():
            assert r.status == expected[name], (name, r)
            assert c.get('/api/v1/codebases/big')[0] == 200, name
        assert growth < RSS_GROWTH_KB, 'the server grew by %d kB' % growth
    finally:
        for _, c in results.values():
            c.close()


def test_the_refusal_comes_before_the_body_which_is_then_dropped_as_it_trickles(small):
    """A client that waits for an answer before sending its body gets it; the body it then sends anyway, slowly, is
    read and dropped, and the kept-alive connection carries the next request."""
    with RawClient(small.port, timeout=10.0) as c:
        c.send(put_head('/api/v1/codebases/big/files/slow.bin', 64 * 1024))
        assert c.read_response().status == 401
        for _ in range(16):
            c.send(b's' * 4096)
            time.sleep(0.05)
        status, text = c.get('/api/v1/codebases/big')
        assert status == 200 and json.loads(text)['files'] == []
        assert c.nothing_pending(), 'more than one answer: %r' % c.buf[:200]


def test_a_refused_upload_that_asked_to_close_is_read_for_the_linger_time_only(small):
    """Connection: close: the server answers, half-closes at once, then reads and drops what the client still sends
    for --linger-time (1 s here), however steadily it comes, and closes."""
    with RawClient(small.port, timeout=10.0) as c:
        c.send(put_head('/api/v1/codebases/big/files/slow.bin', 500 * 1024, [('Connection', 'close')]))
        t0 = time.monotonic()
        assert c.read_response().status == 401
        assert c.is_closed(timeout=2.0), 'no FIN after the answer: %r' % c.buf[:200]
        cut_after = None
        while cut_after is None and time.monotonic() - t0 < 10.0:
            try:
                c.send(b's' * 1024)
                time.sleep(0.05)
            except OSError:
                cut_after = time.monotonic() - t0
    assert cut_after is not None, 'still read after 10 s'
    assert 0.9 <= cut_after < 5.0, cut_after
    assert small.api('GET', '/api/v1/codebases/big')[0] == 200          # the server carries on


@pytest.mark.parametrize('connection', ['keep-alive', 'close'])
def test_a_client_that_gives_up_on_a_refused_body_is_not_held(small, connection):
    """Half-way through a refused body the client stops sending (curl does, once it has the answer): the server
    closes the connection then, not at a timeout."""
    with RawClient(small.port, timeout=10.0) as c:
        c.send(put_head('/api/v1/codebases/big/files/half.bin', 500 * 1024, [('Connection', connection)]))
        c.send(b'h' * 100 * 1024)
        assert c.read_response().status == 401
        c.sock.shutdown(socket.SHUT_WR)
        t0 = time.monotonic()
        rest = c.read_to_close()
        assert time.monotonic() - t0 < 2.0
    # On a kept-alive connection the HTTP layer answers a body cut short with 400 as it closes, even when the request
    # was already answered: an answer the client did not ask for, but no reason to hold it.
    assert rest == b'' or (connection == 'keep-alive' and rest.startswith(b'HTTP/1.1 400 ')), rest[:200]


@pytest.mark.skipif(lacks('curl'), reason='curl is not installed')
@pytest.mark.parametrize('expect', ['100-continue', 'none'])
def test_curl_uploading_a_big_file_sees_the_refusal(repo, tmp_path, expect):
    big = tmp_path / 'big.bin'
    with open(big, 'wb') as f:
        for _ in range(UPLOAD // MB):
            f.write(PIECE)
    url = 'http://127.0.0.1:%d/api/v1/codebases/big/files/big.bin' % repo.port
    extra = [] if expect == '100-continue' else ['-H', 'Expect:']     # without it, curl sends the body at once
    r = subprocess.run(['curl', '-sS', '-o', '-', '-w', '\n%{http_code}', '-T', str(big)] + extra + [url],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    body, _, code = r.stdout.rpartition('\n')
    assert code == '401' and 'token' in json.loads(body)['error']
    assert files_of(repo, 'big') == []


def test_over_limit_uploads_are_refused_from_their_content_length(small, repo):
    path = '/api/v1/codebases/big/files/%s'
    auth = [('Authorization', 'Bearer ' + REPO_TOKEN)]
    rss_before = vm_rss_kb(small.pid)
    # The head alone gets the answer: no byte of the body is needed.
    with RawClient(small.port) as c:
        c.send(put_head(path % 'huge.bin', 1 << 30, auth))
        assert c.read_response().status == 413
    with RawClient(repo.port) as c:                                  # the default limit is 64 MiB
        c.send(put_head(path % 'huge.bin', 64 * MB + 1, auth))
        assert c.read_response().status == 413
    # Up to the limit a file is taken; one byte more is not, nor a chunked body that grows past it.
    status, _, body = small.api('PUT', path % 'max.bin', b'm' * MB)
    assert status == 204, body
    assert small.api('GET', path % 'max.bin')[2] == b'm' * MB
    with RawClient(small.port) as c:
        c.send(put_head(path % 'over.bin', MB + 1, auth))
        assert c.read_response().status == 413
    chunk = b'%x\r\n%s\r\n' % (64 * 1024, b'c' * 64 * 1024)
    with RawClient(small.port) as c:
        c.send(req(path % 'chunked.bin', 'PUT', headers=auth + [('Transfer-Encoding', 'chunked')]))
        try:
            for _ in range(2 * MB // len(chunk)):
                c.send(chunk)
        except OSError:
            pass                       # refused and closed while sending: the answer is still to be read
        assert c.read_response().status == 413
    assert sorted(files_of(small, 'big')) == ['max.bin']
    assert vm_rss_kb(small.pid) - rss_before < RSS_GROWTH_KB
