"""Memory given back after floods of connections: thousands of concurrent clients come, are answered and leave, and
pipyx's RSS (read from /proc) must come back down near where it was before they came. pipyx runs as a real process on
127.0.0.1; the clients are asyncio connections in the test process.
"""
import asyncio
import resource
import time


from test.helpers import FAST_STOP, established, free_port, missing_peer, no_traceback, vm_rss_kb

CONNECTIONS = 5000          # per flood, all open at once
FLOODS = 3
ALLOWED_KB = 20 * 1024      # RSS after the floods, over RSS before them
SETTLE = 20.0               # seconds pipyx has to give memory back once the clients are gone

HELLO = '''
from pipyx import pipy, Message
pipy().listen('127.0.0.1:%(port)d').serve_http(Message('Hi, there!\\n'))
'''

# max_idle is short so that the pool's upstream connections, idle once the flood is over, are closed during the test
PROXY = '''
from pipyx import pipy
pipy().listen('127.0.0.1:%(port)d').demux_http().to(
    lambda p: p.mux_http(max_idle=1).to(lambda p: p.connect('127.0.0.1:%(upstream)d')))
'''


def descriptors_for(n):
    """Raises this process's open files limit, which the processes it starts inherit, so that a proxy can hold n
    connections on each side; returns the connections per flood the limit allows. A hard limit too low for a
    flood is a machine that cannot run the test: it fails where the peers are required (CI), as a missing peer does."""
    want = 2 * n + 1000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want if hard == resource.RLIM_INFINITY else min(want, hard),
                                                    hard))
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    n = min(n, (soft - 1000) // 2)
    if n < 2000:
        missing_peer('the open files limit allows %d, too few for floods of 2000 connections: raise the hard limit '
                     '(ulimit -Hn)' % soft)
    return n


async def _flood(port, n):
    """n connections open at once, each sends one request once all are open and reads its answer; then all close."""
    connecting = asyncio.Semaphore(256)          # the listen backlog is 1024: a SYN it drops costs a 1 s retry
    opened = []

    async def open_one():
        async with connecting:
            opened.append(await asyncio.open_connection('127.0.0.1', port))

    async def exchange(reader, writer):
        writer.write(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
        head = await reader.readuntil(b'\r\n\r\n')
        assert head.startswith(b'HTTP/1.1 200'), head
        length = next(int(line.split(b':')[1]) for line in head.split(b'\r\n')
                      if line.lower().startswith(b'content-length:'))
        await reader.readexactly(length)

    try:
        await asyncio.gather(*(open_one() for _ in range(n)))
        await asyncio.gather(*(exchange(r, w) for r, w in opened))
    finally:
        for _, w in opened:
            w.close()


def flood(port, n):
    asyncio.run(asyncio.wait_for(_flood(port, n), 120))


def settled_rss(pid, ceiling_kb, quiet_ports):
    """Samples pipyx's RSS (KB) every 0.25 s until, with no connection left on quiet_ports, it is at most ceiling_kb
    and has not moved for 2 s, or for SETTLE seconds at most; returns the samples, the last one the verdict."""
    samples = [vm_rss_kb(pid)]
    deadline = time.monotonic() + SETTLE
    while time.monotonic() < deadline:
        time.sleep(0.25)
        samples.append(vm_rss_kb(pid))
        steady = len(samples) > 8 and len(set(samples[-9:])) == 1
        if steady and samples[-1] <= ceiling_kb and not any(established(p) for p in quiet_ports):
            break
    return samples


def run_floods(pid, port, n, quiet_ports):
    flood(port, 50)                              # what the first connections set up once is not what is measured
    time.sleep(1.5)
    before = vm_rss_kb(pid)
    after = []
    for _ in range(FLOODS):
        flood(port, n)
        after.append(vm_rss_kb(pid))
    samples = settled_rss(pid, before + ALLOWED_KB, quiet_ports)
    return before, after, samples


def report(before, after, samples):
    return 'RSS %.1f MB before; %s MB after each flood; %.1f MB %.0f s after the last (samples: %s)' % (
        before / 1024, ', '.join('%.1f' % (p / 1024) for p in after), samples[-1] / 1024, len(samples) * 0.25,
        ' '.join('%.1f' % (s / 1024) for s in samples[::4]))


def test_rss_comes_back_after_floods_of_a_hello_server(run_pipyx):
    n = descriptors_for(CONNECTIONS)
    port = free_port()
    p = run_pipyx(HELLO % {'port': port}, port=port, args=FAST_STOP)
    before, after, samples = run_floods(p.pid, port, n, [port])
    print(report(before, after, samples))
    assert samples[-1] - before <= ALLOWED_KB, report(before, after, samples)
    assert p.proc.poll() is None
    no_traceback(p.log())


def test_rss_comes_back_after_floods_of_a_proxy(run_pipyx):
    n = descriptors_for(CONNECTIONS)
    upstream, port = free_port(), free_port()
    run_pipyx(HELLO % {'port': upstream}, port=upstream, args=FAST_STOP)
    p = run_pipyx(PROXY % {'port': port, 'upstream': upstream}, port=port, args=FAST_STOP)
    before, after, samples = run_floods(p.pid, port, n, [port, upstream])
    print(report(before, after, samples))
    assert not established(upstream), 'the pool kept %d upstream connections past max_idle' % established(upstream)
    assert samples[-1] - before <= ALLOWED_KB, report(before, after, samples)
    assert p.proc.poll() is None
    no_traceback(p.log())
