"""What a script asks of its process: pipyx.argv, load(), restart(), exit(code), worker_index, and the connections
open now (inbound(), outbound()). Real pipyx processes, a real repo server, sockets on 127.0.0.1."""
import json
import signal

import pytest

from test.cli.support import run_cli, write_script
from test.helpers import REPO_TOKEN, RawClient, RepoServer, answer, free_port, get, wait_for


def test_argv_is_what_follows_the_double_dash(tmp_path):
    main = write_script(tmp_path / 'main.py', """
        import pipyx
        from pipyx import pipy
        print('argv', pipyx.argv, flush=True)
        pipy().task().handle_stream_start(lambda e: pipyx.exit(0))
    """)
    r = run_cli([str(main), '--', 'a', '--workers', 'b c'])
    assert r.returncode == 0, r.stderr
    assert "argv ['a', '--workers', 'b c']" in r.stdout
    r = run_cli([str(main)])
    assert 'argv []' in r.stdout


def test_exit_code_from_a_script_and_exit_pipelines_run_first(tmp_path):
    main = write_script(tmp_path / 'main.py', """
        import pipyx
        from pipyx import pipy
        pipy().task().handle_stream_start(lambda e: pipyx.exit(int(pipyx.argv[0])))
        pipy().exit().handle_stream_start(lambda e: print('exit pipeline ran', flush=True))
    """)
    r = run_cli([str(main), '--', '3'])
    assert r.returncode == 3, r.stderr
    assert 'exit pipeline ran' in r.stdout
    assert run_cli([str(main), '--', '0']).returncode == 0


def test_exit_with_a_bad_code_fails_the_callback_not_the_process(run_pipyx, tmp_path):
    port = free_port()
    p = run_pipyx("""
        import pipyx
        from pipyx import pipy, Message
        def handle(req):
            pipyx.exit('soon')
        pipy().listen('127.0.0.1:%d').serve_http(handle)
    """ % port, port=port)
    status, _ = get(port, '/')
    assert status == 500
    assert "exit(): the code is an int from 0 to 255, not 'soon'" in p.log()
    assert p.proc.poll() is None


def test_restart_reloads_the_script(run_pipyx, tmp_path):
    port = free_port()
    main = tmp_path / 'main.py'
    version = """
        import pipyx
        from pipyx import pipy, Message
        def handle(req):
            if req.head.path == '/restart':
                pipyx.restart()
            return Message('{v}')
        pipy().listen('127.0.0.1:{port}').serve_http(handle)
    """
    write_script(main, version.replace('{v}', 'one').replace('{port}', str(port)))
    p = run_pipyx(path=main, port=port)
    assert answer(port) == 'one'
    write_script(main, version.replace('{v}', 'two').replace('{port}', str(port)))
    assert answer(port) == 'one'                      # nothing reloads by itself
    assert get(port, '/restart') == (200, 'one')
    wait_for(lambda: answer(port) == 'two', timeout=5, what='the new version')
    assert 'reloaded' in p.log()


def test_load_reads_the_codebase_from_the_repo(tmp_path, run_pipyx):
    repo = RepoServer(str(tmp_path / 'repo'), free_port(), token_option=True).ready()
    try:
        port = free_port()
        main = """
import json
import pipyx
from pipyx import pipy, Message
config = json.loads(pipyx.load('conf/app.json').to_bytes())
missing = pipyx.load('conf/none.json')
def handle(req):
    return Message('%s %s %s' % (config['greeting'], missing, pipyx.load('/conf/app.json').size))
pipy().listen('127.0.0.1:{port}').serve_http(handle)
""".replace('{port}', str(port))
        conf = json.dumps({'greeting': 'hello from the repo'})
        repo.publish('app', {'main.py': main, 'conf/app.json': conf})
        run_pipyx(args=['http://127.0.0.1:%d/repo/app/' % repo.port, '--repo-cache', str(tmp_path / 'cache')],
                  env={'PIPYX_REPO_TOKEN': REPO_TOKEN}, port=port)
        assert answer(port) == 'hello from the repo None %d' % len(conf)
    finally:
        repo.stop()


def test_load_refuses_a_path_outside_the_codebase(tmp_path):
    (tmp_path / 'secret.txt').write_text('x')
    (tmp_path / 'app').mkdir()
    main = write_script(tmp_path / 'app' / 'main.py', """
        import pipyx
        from pipyx import pipy
        pipyx.load('../secret.txt')
        pipy().task().dump()
    """)
    r = run_cli([str(main), '--verify'])
    assert r.returncode == 1
    assert "main.py:3: ValueError: load(): '../secret.txt' is outside the codebase" in r.stderr, r.stderr


LISTING = """
import json
import pipyx
from pipyx import pipy, Message

def listing(req):
    def show(c):
        return {{'local': [c.local_address, c.local_port], 'remote': [c.remote_address, c.remote_port],
                 'in': c.bytes_in, 'out': c.bytes_out, 'age': c.age}}
    return Message(json.dumps({{'inbound': [show(c) for c in pipyx.inbound()],
                                'outbound': [show(c) for c in pipyx.outbound()]}}))

pipy().listen('127.0.0.1:{port}').serve_http(listing)
pipy().listen('127.0.0.1:{relay}').connect('127.0.0.1:{backend}')
"""


def test_inbound_and_outbound_list_the_connections_open_now(run_pipyx, backend):
    port, relay = free_port(), free_port()
    run_pipyx(LISTING.format(port=port, relay=relay, backend=backend), port=port)
    wait_for(lambda: answer(relay, '/echo'), timeout=5, what='the relay')
    client = RawClient(relay)
    assert client.get('/echo')[0] == 200
    me = RawClient(port)
    status, body = me.get('/')
    assert status == 200
    seen = json.loads(body)
    by_remote = {tuple(c['remote']): c for c in seen['inbound']}
    relay_client = by_remote[client.sock.getsockname()]
    assert relay_client['local'] == ['127.0.0.1', relay]
    assert relay_client['in'] > 0 and relay_client['out'] > 0 and relay_client['age'] >= 0
    assert tuple(me.sock.getsockname()) in by_remote
    upstream = [c for c in seen['outbound'] if c['remote'] == ['127.0.0.1', backend]]
    assert len(upstream) == 1 and upstream[0]['out'] > 0
    client.close()
    # A closed connection leaves the listing.
    wait_for(lambda: not json.loads(me.get('/')[1])['outbound'], timeout=5, what='the relay connection gone')


def test_each_worker_runs_its_tasks_and_one_exit_stops_them_all(tmp_path):
    main = write_script(tmp_path / 'main.py', """
        import os, time
        import pipyx
        from pipyx import pipy
        def start(e):
            with open(%r + str(pipyx.worker_index), 'w') as f:
                f.write('ran')
            if pipyx.worker_index == 1:
                # exit() stops every worker: wait (bounded) until worker 0 has run its task too
                deadline = time.monotonic() + 10
                while not os.path.exists(%r) and time.monotonic() < deadline:
                    time.sleep(0.02)
                pipyx.exit(5)
        pipy().task().handle_stream_start(start)
    """ % (str(tmp_path / 'worker-'), str(tmp_path / 'worker-0')))
    r = run_cli([str(main), '--workers', '2'], timeout=30)
    assert r.returncode == 5, r.stderr
    assert (tmp_path / 'worker-0').read_text() == 'ran' and (tmp_path / 'worker-1').read_text() == 'ran'


def test_restart_in_one_worker_reloads_every_worker(run_pipyx, tmp_path):
    log, marker = tmp_path / 'starts.log', tmp_path / 'restarted'
    main = write_script(tmp_path / 'main.py', """
        import os
        import pipyx
        from pipyx import pipy
        def start(e):
            with open(%r, 'a') as f:
                f.write('%%d\\n' %% pipyx.worker_index)
        def restart_once(e):
            # once both workers run (a worker still starting would not have its SIGHUP handler yet)
            try:
                with open(%r) as f:
                    both = set(f.read().split()) == {'0', '1'}
            except FileNotFoundError:
                return
            if pipyx.worker_index == 0 and both and not os.path.exists(%r):
                open(%r, 'w').close()
                pipyx.restart()
        pipy().task().handle_stream_start(start)
        pipy().task('0.1s').handle_stream_start(restart_once)
    """ % (str(log), str(log), str(marker), str(marker)))
    p = run_pipyx(path=main, args=['--workers', '2'])

    def starts():
        return sorted(log.read_text().split()) if log.exists() else []
    wait_for(lambda: starts() == ['0', '0', '1', '1'], timeout=10, what='both workers started twice')
    wait_for(lambda: p.log().count('reloaded') == 2, timeout=5, what='two reloads logged')
    assert 'exited' not in p.log() and 'ERROR' not in p.log(), p.log()
