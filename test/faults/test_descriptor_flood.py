"""A flood of connections past the process's file-descriptor limit: pipyx says so once per burst (the kernel refuses
the excess without a word), serves what it accepted, and serves normally once the flood is gone."""
import socket
import sys
import time

from test.helpers import RawClient, free_port, vm_rss_kb, wait_for

HELLO = '''
from pipyx import pipy
pipy().listen('127.0.0.1:{port}').serve_http('hello')
'''


def flood(port, count):
    socks = []
    for _ in range(count):
        try:
            socks.append(socket.create_connection(('127.0.0.1', port), timeout=2))
        except OSError:
            break
    return socks


def test_a_flood_at_the_descriptor_limit_is_logged_once_and_survived(processes, tmp_path):
    port = free_port()
    (tmp_path / 'main.py').write_text(HELLO.format(port=port))
    proc = processes.start(['sh', '-c', 'ulimit -n 128 && exec "$0" -m pipyx main.py', sys.executable],
                           port=port, cwd=str(tmp_path), name='pipyx')
    rss0 = vm_rss_kb(proc.pid)
    socks = flood(port, 400)
    try:
        wait_for(lambda: 'out of file descriptors' in proc.log(), 5, proc.log)
        answered = 0
        for s in socks[:50]:
            s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
            s.settimeout(0.5)
            try:
                answered += s.recv(100).startswith(b'HTTP/1.1 200')
            except OSError:
                continue                 # refused at the limit: counted as not answered
        assert answered >= 40            # the first connections, accepted before the limit, are served
    finally:
        for s in socks:
            s.close()
    time.sleep(0.5)
    with RawClient(port, 5) as c:
        assert c.get('/') == (200, 'hello')
    socks = flood(port, 400)             # a second burst soon after: not logged again
    for s in socks:
        s.close()
    time.sleep(0.5)
    with RawClient(port, 5) as c:
        assert c.get('/') == (200, 'hello')
    assert proc.log().count('out of file descriptors') == 1, proc.log()
    assert 'of 128 in use' in proc.log()
    assert vm_rss_kb(proc.pid) - rss0 < 20000
