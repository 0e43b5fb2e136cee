"""Fault isolation: garbage, half requests and handlers that raise, on many connections at once, harm only their
own stream; the others are answered and the process goes on.
"""
import random
import socket
import threading
import time

from test.helpers import FAST_STOP, RawClient, free_port, json_of, no_traceback, req, simple_request


FAULTS = '''
from pipyx import pipy, ctx


def route(start):
    ctx.boom = start.head.path.startswith('/raise')


def explode(message):
    raise RuntimeError('boom from the handler')


app = pipy(boom=False)
app.listen('127.0.0.1:%(port)d').demux_http().to(
    lambda p: p.handle_message_start(route).branch(lambda: ctx.boom, 'boom', 'forward'))
app.pipeline('forward').mux_http().to(lambda p: p.connect('127.0.0.1:%(backend)d'))
app.pipeline('boom').replace_message(explode)
'''


def test_fault_isolation_under_load(run_pipyx, backend):
    port = free_port()
    p = run_pipyx(FAULTS % {'port': port, 'backend': backend}, port=port, args=FAST_STOP)
    t_end = time.monotonic() + 3.0
    errors = []
    counts = {}
    lock = threading.Lock()

    def count(name):
        with lock:
            counts[name] = counts.get(name, 0) + 1

    def valid(n):
        rnd = random.Random(n)
        try:
            with RawClient(port, timeout=10) as c:
                i = 0
                while time.monotonic() < t_end:
                    size = rnd.choice([0, 10, 1000, 20000, 70000])
                    body = (b'%d-%d:' % (n, i) + bytes(rnd.getrandbits(8) for _ in range(64)) * (size // 64 + 1))
                    body = body[:max(size, 8)]
                    c.send(req('/echo?n=%d&i=%d' % (n, i), 'POST', body=body))
                    r = c.read_response()
                    d = json_of(r)
                    if d['path'] != '/echo?n=%d&i=%d' % (n, i) or d['body'] != body.decode('utf-8', 'replace'):
                        errors.append(('wrong answer', n, i, d['path']))
                        return
                    i += 1
                    count('valid')
        except Exception as e:  # noqa: BLE001 — reported below
            errors.append(('valid', n, repr(e)))

    def garbage(n):
        rnd = random.Random(1000 + n)
        while time.monotonic() < t_end:
            try:
                with socket.create_connection(('127.0.0.1', port), timeout=2) as s:
                    kind = rnd.randrange(3)
                    if kind == 0:
                        s.sendall(bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(1, 3000))))
                        s.shutdown(socket.SHUT_WR)
                    elif kind == 1:
                        s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n')
                    else:
                        s.sendall(b'POST /echo HTTP/1.1\r\nContent-Length: -5\r\n\r\n')
                    answer = s.recv(4096)
                    if kind and not answer.startswith(b'HTTP/1.1 400 '):
                        errors.append(('malformed request answered', answer[:100]))
                        return
                count('garbage')
            except OSError:
                pass

    def half(n):
        rnd = random.Random(2000 + n)
        while time.monotonic() < t_end:
            try:
                s = socket.create_connection(('127.0.0.1', port), timeout=2)
                kind = rnd.randrange(4)
                if kind == 0:                                    # half a head
                    s.sendall(b'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Le')
                elif kind == 1:                                  # a body that stops mid-way
                    s.sendall(req('/echo', 'POST', [('Content-Length', '100000')]) + b'z' * 30000)
                elif kind == 2:                                  # a chunked body that stops mid-chunk
                    s.sendall(req('/echo', 'POST', [('Transfer-Encoding', 'chunked')]) + b'1000\r\n' + b'q' * 100)
                else:                                            # a big response the client walks away from
                    s.sendall(req('/big/5000000'))
                    s.recv(1000)
                time.sleep(rnd.random() * 0.05)
                if rnd.random() < 0.5:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\x01\x00\x00\x00\x00\x00\x00\x00')
                s.close()                                        # (half of them with a reset)
                count('half')
            except OSError:
                pass

    def raising(n):
        try:
            with RawClient(port, timeout=3) as c:
                while time.monotonic() < t_end:
                    c.send(req('/raise/%d' % n))
                    r = c.read_response()
                    if r.status != 500:
                        errors.append(('raise', n, r.status))
                        return
                    c.send(req('/echo', 'POST', body=b'after-raise'))   # the same connection still works
                    if json_of(c.read_response())['body'] != 'after-raise':
                        errors.append(('after raise', n))
                        return
                    count('raise')
                    time.sleep(0.02)
        except Exception as e:  # noqa: BLE001 — reported below
            errors.append(('raise', n, repr(e)))

    threads = [threading.Thread(target=valid, args=(n,), daemon=True) for n in range(20)]
    threads += [threading.Thread(target=garbage, args=(n,), daemon=True) for n in range(3)]
    threads += [threading.Thread(target=half, args=(n,), daemon=True) for n in range(3)]
    threads += [threading.Thread(target=raising, args=(n,), daemon=True) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.1, t_end + 12 - time.monotonic()))
    print('fault isolation: %s' % counts)
    assert not any(t.is_alive() for t in threads), 'client threads still running 12 s after the end'
    assert not errors, errors[:10]
    assert counts.get('valid', 0) >= 20 * 5, counts
    assert counts.get('garbage', 0) >= 30 and counts.get('half', 0) >= 10 and counts.get('raise', 0) >= 5, counts
    assert p.proc.poll() is None, 'pipyx exited:\n' + p.log()[-3000:]
    assert json_of(simple_request(port, '/echo'))['method'] == 'GET'
    log = p.log()
    no_traceback(log)
    assert 'boom from the handler' in log and 'main-0.py:' in log, log[-3000:]


def test_error_in_filter_before_mux_http_answers_500(run_pipyx, backend):
    """A callback that raises in front of mux_http ends that request's stream with RuntimeError: the client gets a
    500 and keeps its connection, as it does when the callback is in front of any other filter."""
    port = free_port()
    p = run_pipyx('''
        from pipyx import pipy


        def check(start):
            if start.head.path == '/raise':
                raise RuntimeError('boom in front of mux_http')


        pipy().listen('127.0.0.1:%d').demux_http().to(
            lambda p: p.handle_message_start(check).mux_http().to(lambda p: p.connect('127.0.0.1:%d')))
    ''' % (port, backend), port=port, args=FAST_STOP)
    with RawClient(port, timeout=3) as c:
        c.send(req('/raise'))
        try:
            r = c.read_response()
        except (TimeoutError, socket.timeout):
            raise AssertionError('no answer in 3 s to a request whose handle_message_start callback raised')
        assert r.status == 500, r
        c.send(req('/echo', 'POST', body=b'next'))
        assert json_of(c.read_response())['body'] == 'next'
    log = p.log()
    assert 'boom in front of mux_http' in log
    no_traceback(log)
