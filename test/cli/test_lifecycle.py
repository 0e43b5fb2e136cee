"""The pipyx command's life: SIGTERM/SIGINT draining, SIGHUP reload, --workers, and a short load.

Every check talks to pipyx over real sockets on 127.0.0.1 and every wait has a deadline.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

from test.cli.support import HELLO, children_of, in_thread, two_workers, write_script
from test.helpers import RawClient, alive, free_port, get, missing_peer, refuses, vm_rss_kb, wait_for, wait_port


# -- 5. SIGTERM / SIGINT ---------------------------------------------------------------------------------------------

SLOW = """
import asyncio
from pipyx import pipy, Message

async def handle(req):
    if req.head.path == '/slow':
        await asyncio.sleep({delay})
        return Message('slow-done')
    return Message('fast')

pipy().listen('127.0.0.1:{port}').serve_http(handle)
""".lstrip('\n')


@pytest.mark.parametrize('sig', [signal.SIGTERM, signal.SIGINT], ids=['SIGTERM', 'SIGINT'])
def test_stop_signal_drains_in_flight_request(run_pipyx, sig):
    port = free_port()
    p = run_pipyx(SLOW.replace('{port}', str(port)).replace('{delay}', '1.0'), port=port)
    idle = RawClient(port)
    assert idle.get('/') == (200, 'fast')              # now an idle keep-alive connection
    slow = in_thread(get, port, '/slow', 5.0)
    time.sleep(0.3)                                      # the request is in the handler's sleep
    t0 = time.monotonic()
    p.signal(sig)
    try:
        assert idle.is_closed(1.0), 'an idle keep-alive connection stays open after the stop signal'
    finally:
        idle.close()
    assert wait_for(lambda: refuses(port), 0.6), 'new connections still accepted after the stop signal'
    assert p.proc.poll() is None, 'exited before the request in flight was answered'
    assert slow() == (200, 'slow-done')
    rc = p.wait(5)
    assert rc == 0, p.log()
    assert time.monotonic() - t0 < 3.0


def test_drain_timeout_bounds_the_exit(run_pipyx):
    port = free_port()
    p = run_pipyx(SLOW.replace('{port}', str(port)).replace('{delay}', '5.0'), port=port,
                  args=['--drain-timeout', '0.5'])
    slow = in_thread(get, port, '/slow', 6.0)
    time.sleep(0.3)
    t0 = time.monotonic()
    p.signal(signal.SIGTERM)
    rc = p.wait(5)
    elapsed = time.monotonic() - t0
    assert 0.4 <= elapsed < 2.0, elapsed
    assert rc == 0, p.log()
    outcome = slow(3)
    assert isinstance(outcome, (ConnectionError, OSError)), outcome   # cut off, not answered


def test_stop_with_no_connections_is_quick(run_pipyx):
    port = free_port()
    p = run_pipyx(HELLO.replace('{port}', str(port)), port=port)
    t0 = time.monotonic()
    p.signal(signal.SIGTERM)
    assert p.wait(5) == 0, p.log()
    assert time.monotonic() - t0 < 1.0
    assert refuses(port)


# -- 6. SIGHUP reload ------------------------------------------------------------------------------------------------

VERSIONED = """
from pipyx import pipy, Message
pipy().listen('127.0.0.1:{port}').serve_http(Message('{answer}'))
"""


class ClientLoop:
    """New connections, one request each, in a loop until stopped: records answers and errors."""

    def __init__(self, port):
        self.port = port
        self.answers = []
        self.errors = []
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop_flag.is_set():
            try:
                self.answers.append(get(self.port, '/', 2.0))
            except Exception as e:
                self.errors.append(repr(e))
            time.sleep(0.002)

    def stop(self):
        self.stop_flag.set()
        self.thread.join(5)
        assert not self.thread.is_alive()


def test_sighup_reloads_new_connections_old_keep_their_pipeline(tmp_path, run_pipyx):
    port = free_port()
    path = tmp_path / 'main.py'
    write_script(path, VERSIONED.replace('{port}', str(port)).replace('{answer}', 'v1'))
    p = run_pipyx(path=path, port=port)
    old = RawClient(port)
    assert old.get('/') == (200, 'v1')
    loop = ClientLoop(port)
    try:
        wait_for(lambda: len(loop.answers) > 5, 3)
        write_script(path, VERSIONED.replace('{port}', str(port)).replace('{answer}', 'v2'))
        p.signal(signal.SIGHUP)
        assert wait_for(lambda: get(port) == (200, 'v2'), 5), 'new connections never got v2:\n' + p.log()
        n = len(loop.answers)
        wait_for(lambda: len(loop.answers) > n + 5, 3)
    finally:
        loop.stop()
    assert loop.errors == [], loop.errors[:5]
    assert {a for a in loop.answers} == {(200, 'v1'), (200, 'v2')}, set(loop.answers)
    # Once v2 shows up, no new connection gets v1 again.
    first_v2 = loop.answers.index((200, 'v2'))
    assert (200, 'v1') not in loop.answers[first_v2:]
    # The connection opened before the reload keeps the pipeline it started with.
    assert old.get('/') == (200, 'v1')
    assert old.get('/') == (200, 'v1')
    old.close()
    assert 'reloaded' in p.log()
    assert p.proc.poll() is None


def test_sighup_with_broken_script_keeps_serving(tmp_path, run_pipyx):
    port = free_port()
    path = tmp_path / 'main.py'
    write_script(path, VERSIONED.replace('{port}', str(port)).replace('{answer}', 'v1'))
    p = run_pipyx(path=path, port=port)
    assert get(port) == (200, 'v1')
    loop = ClientLoop(port)
    try:
        path.write_text("from pipyx import pipy, Message\n\npipy().listen('127.0.0.1:%d').serve_http(\n" % port)
        p.signal(signal.SIGHUP)
        log = wait_for(lambda: 'reload failed' in p.log() and p.log(), 5)
        assert log, 'no reload error logged:\n' + p.log()
        time.sleep(0.1)
    finally:
        loop.stop()
    assert re.search(r'main\.py:3: SyntaxError', log), log
    assert 'Traceback' not in log, log
    assert loop.errors == [], loop.errors[:5]
    assert loop.answers and set(loop.answers) == {(200, 'v1')}
    assert get(port) == (200, 'v1')
    # A later good reload still works.
    write_script(path, VERSIONED.replace('{port}', str(port)).replace('{answer}', 'v3'))
    p.signal(signal.SIGHUP)
    assert wait_for(lambda: get(port) == (200, 'v3'), 5), p.log()


def test_sighup_opens_and_closes_listeners(tmp_path, run_pipyx):
    port, port2 = free_port(), free_port()
    path = tmp_path / 'main.py'
    write_script(path, VERSIONED.replace('{port}', str(port)).replace('{answer}', 'a'))
    p = run_pipyx(path=path, port=port)
    write_script(path, """
        from pipyx import pipy, Message
        pipy().listen('127.0.0.1:{port}').serve_http(Message('a2')).listen('127.0.0.1:{port2}').serve_http(Message('b'))
    """.replace('{port}', str(port)).replace('{port2}', str(port2)))
    p.signal(signal.SIGHUP)
    assert wait_port(port2, 5, p.proc), p.log()
    assert get(port2) == (200, 'b')
    assert get(port) == (200, 'a2')
    write_script(path, VERSIONED.replace('{port}', str(port2)).replace('{answer}', 'b2'))
    p.signal(signal.SIGHUP)
    assert wait_for(lambda: refuses(port), 5), 'the listener dropped from the script still accepts'
    assert get(port2) == (200, 'b2')


def test_sighup_with_a_port_in_use_keeps_the_old_version(tmp_path, run_pipyx):
    port = free_port()
    busy = socket.socket()
    busy.bind(('127.0.0.1', 0))
    busy.listen(1)
    try:
        path = tmp_path / 'main.py'
        write_script(path, VERSIONED.replace('{port}', str(port)).replace('{answer}', 'v1'))
        p = run_pipyx(path=path, port=port)
        write_script(path, """
            from pipyx import pipy, Message
            pipy().listen('127.0.0.1:{port}').serve_http(Message('v2')).listen('127.0.0.1:{busy}').serve_http(Message('x'))
        """.replace('{port}', str(port)).replace('{busy}', str(busy.getsockname()[1])))
        p.signal(signal.SIGHUP)
        assert wait_for(lambda: 'reload failed' in p.log(), 5), p.log()
        # Nothing of the new version took effect: not even the layout of the port that was fine.
        assert get(port) == (200, 'v1')
        assert 'Task exception' not in p.log()
    finally:
        busy.close()


# A script with what a real one has: context variables, callbacks, a router, sub-pipelines, a session pool. A
# replaced version lives on while its pool keeps an idle upstream connection: max_idle is short so that the test
# sees what a reload leaves behind for good, not what the last minute's versions still hold.
RELOADED = """
from pipyx import pipy, Message, ctx, algo

router = algo.URLRouter({'/api/*': 'api', '/*': 'web'})

def route(req):
    ctx.hits += 1
    return Message('%s %d' % (router.find('', req.head.path), ctx.hits))

app = pipy(hits=0)
app.listen('127.0.0.1:{port}').serve_http(route)
app.listen('127.0.0.1:{proxy}').demux_http().to(
    lambda p: p.handle_message_start(lambda m: None).mux_http(max_idle=0.5).to(
        lambda p: p.connect('127.0.0.1:{port}')))
"""


def test_sighup_reloads_keep_rss_flat(tmp_path, run_pipyx):
    """Each reload replaces the script's modules, layouts and callbacks; what the replaced version held must be
    given back, so that a process reloaded over and over (by --watch, by a repo) does not grow."""
    port, proxy = free_port(), free_port()
    path = write_script(tmp_path / 'main.py', RELOADED.replace('{port}', str(port)).replace('{proxy}', str(proxy)))
    p = run_pipyx(path=path, port=port)
    p.wait_ready(proxy)
    done = [0]

    def reload(count):
        for _ in range(count):
            done[0] += 1
            p.signal(signal.SIGHUP)
            assert wait_for(lambda: p.log().count('reloaded') >= done[0], 5), 'reload %d not done:\n%s' % (
                done[0], p.log()[-2000:])
            if done[0] % 20 == 0:
                assert get(port, '/api/x') == (200, 'api 1')
                assert get(proxy, '/') == (200, 'web 1')

    reload(20)                                  # what the first reloads set up once is not what is measured
    before = vm_rss_kb(p.pid)
    reload(200)
    grown = vm_rss_kb(p.pid) - before
    print('RSS %d KB after 20 reloads, %+d KB after 200 more' % (before, grown))
    assert grown < 200, 'RSS grew by %d KB over 200 reloads (%.1f KB each)' % (grown, grown / 200)
    assert p.proc.poll() is None
    assert 'reload failed' not in p.log()


# -- 7. --workers ----------------------------------------------------------------------------------------------------

PID_SCRIPT = """
import os
from pipyx import pipy, Message
pipy().listen('127.0.0.1:{port}').serve_http(lambda req: Message('{tag}' + str(os.getpid())))
"""


def test_workers_share_the_port_reload_and_stop(tmp_path, run_pipyx):
    port = free_port()
    path = tmp_path / 'main.py'
    write_script(path, PID_SCRIPT.replace('{port}', str(port)).replace('{tag}', 'v1-'))
    p = run_pipyx(path=path, port=port, args=['--workers', '2'])
    kids = wait_for(lambda: two_workers(p.pid), 5)
    assert kids, 'expected 2 worker processes under %d, found %s' % (p.pid, children_of(p.pid))

    seen = set()

    def both_answer(tag):
        seen.clear()
        for _ in range(200):
            status, body = get(port)
            assert status == 200 and body.startswith(tag), body
            seen.add(int(body[len(tag):]))
            if len(seen) == 2:
                return True
        return False

    # Both workers accept on the same port (the second may still be starting: retry within the deadline).
    assert wait_for(lambda: both_answer('v1-'), 8, interval=0.1), 'answers came only from %s' % seen
    assert seen == set(kids) and p.pid not in seen

    # SIGHUP to the parent reloads both workers, in place.
    write_script(path, PID_SCRIPT.replace('{port}', str(port)).replace('{tag}', 'v2-'))
    p.signal(signal.SIGHUP)

    def all_v2():
        try:
            return both_answer('v2-')
        except AssertionError:
            return False
    assert wait_for(all_v2, 8, interval=0.1), 'not every worker reloaded:\n' + p.log()
    assert seen == set(kids)
    assert children_of(p.pid) == kids

    # SIGTERM to the parent ends everything.
    p.signal(signal.SIGTERM)
    assert p.wait(8) == 0, p.log()
    assert wait_for(lambda: not any(alive(k) for k in kids), 3), 'workers outlived the parent'
    assert refuses(port)


def test_workers_parent_replaces_a_dead_worker(tmp_path, run_pipyx):
    port = free_port()
    path = write_script(tmp_path / 'main.py', PID_SCRIPT.replace('{port}', str(port)).replace('{tag}', ''))
    p = run_pipyx(path=path, port=port, args=['--workers', '2'])
    kids = wait_for(lambda: two_workers(p.pid), 5)
    assert kids
    os.kill(kids[0], signal.SIGKILL)             # a worker this test's pipyx started
    def replaced():
        now = children_of(p.pid)
        return len(now) == 2 and kids[0] not in now and now
    fresh = wait_for(replaced, 5)
    assert fresh and kids[1] in fresh, (kids, children_of(p.pid), p.log())
    new_pid = (set(fresh) - {kids[1]}).pop()

    def answered_by_new():
        return any(get(port)[1] == str(new_pid) for _ in range(50))
    assert wait_for(answered_by_new, 8, interval=0.1), 'the replacement worker never answered'
    assert 'starting a new one' in p.log()
    p.signal(signal.SIGTERM)
    assert p.wait(8) == 0, p.log()


def test_workers_parent_forwards_sigint(tmp_path, run_pipyx):
    port = free_port()
    path = write_script(tmp_path / 'main.py', PID_SCRIPT.replace('{port}', str(port)).replace('{tag}', ''))
    p = run_pipyx(path=path, port=port, args=['--workers', '2'])
    kids = wait_for(lambda: two_workers(p.pid), 5)
    assert kids
    p.signal(signal.SIGINT)
    assert p.wait(8) == 0, p.log()
    assert wait_for(lambda: not any(alive(k) for k in kids), 3)


# -- 8. load ---------------------------------------------------------------------------------------------------------

def test_wrk_smoke(run_pipyx):
    wrk = shutil.which('wrk')
    if wrk is None:
        missing_peer('wrk is not installed')
    port = free_port()
    p = run_pipyx(HELLO.replace('{port}', str(port)), port=port)
    r = subprocess.run([wrk, '-t1', '-c20', '-d2s', '--timeout', '2s', 'http://127.0.0.1:%d/' % port],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    assert 'Socket errors' not in r.stdout, r.stdout
    assert 'Non-2xx' not in r.stdout, r.stdout
    m = re.search(r'(\d+) requests in', r.stdout)
    assert m and int(m.group(1)) > 100, r.stdout
    assert p.proc.poll() is None
    assert get(port) == (200, 'Hi, there!\n')
