"""End-to-end tests of tutorial step 8 (the repo) and samples/fleet, with real processes on 127.0.0.1.

A repo server with a token, workers started from the repo's URL, and publishing done the way the reader does it: the
README's own curl commands, publish.sh, watch.py, and for the fleet run.sh and deploy.py. Every process is stopped by
its pid when the test ends.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys

import pytest

from test.helpers import ROOT, alive, answer, free_port, lacks, request, wait_for, wait_port

STEP = os.path.join(ROOT, 'tutorial', '08-repo')
FLEET = os.path.join(ROOT, 'samples', 'fleet')
TOKEN = 'tutorial-test-token'

pytestmark = pytest.mark.skipif(lacks('curl'), reason='the tutorial publishes with curl')


def base_env(**extra):
    env = dict(os.environ)
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    env['PYTHONUNBUFFERED'] = '1'
    env['PIPYX_REPO_TOKEN'] = TOKEN
    env.update({k: str(v) for k, v in extra.items()})
    return env


def start_repo(processes, directory, port):
    """The README's `pipyx --repo-dir DIR --listen 127.0.0.1:PORT`, with PIPYX_REPO_TOKEN in the environment."""
    return processes.pipyx(['--repo-dir', directory, '--listen', '127.0.0.1:%d' % port], port, base_env(), ROOT)


def instances(repo_port):
    return json.loads(subprocess.run(['curl', '-sS', 'http://127.0.0.1:%d/api/v1/instances' % repo_port],
                                     capture_output=True, check=True, timeout=10).stdout)


# -- the README, as commands ------------------------------------------------------------------------------------------

def readme(path):
    with open(path) as f:
        return f.read()


def section(text, title):
    start = text.index('\n## %s\n' % title)
    end = text.find('\n## ', start + 1)
    return text[start:end if end >= 0 else len(text)]


def shown_commands(text):
    """[(command, the output the README shows for it)] for each `$ ...` line in the ```sh blocks of text."""
    found = []
    for block in re.findall(r'```sh\n(.*?)```', text, re.S):
        for line in block.splitlines():
            if line.startswith('$ '):
                found.append([line[2:], []])
            elif found:
                found[-1][1].append(line)
    return [(cmd, '\n'.join(out)) for cmd, out in found]


def sh(cmd, env, cwd=ROOT):
    """Runs a README command line with bash: (exit status, standard output, standard error)."""
    r = subprocess.run(['bash', '-c', cmd], cwd=cwd, env=env, capture_output=True, timeout=20)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def run_shown(text, prefix, env, substitutions):
    """Runs the one command the README shows that starts with prefix, with its paths and URLs replaced by the test's
    (substitutions: {README's: the test's}); returns its standard output."""
    matches = {cmd for cmd, _ in shown_commands(text) if cmd.startswith(prefix)}
    assert len(matches) == 1, 'the README should show one command starting with %r: %s' % (prefix, matches)
    cmd = matches.pop()
    for theirs, ours in substitutions.items():
        cmd = cmd.replace(theirs, ours)
    status, out, err = sh(cmd, env)
    assert status == 0, (cmd, out, err)
    return out


def command_line(text, prefix):
    """A command the README gives without a prompt (one that keeps running), by how it starts."""
    matches = [line for line in text.splitlines() if line.startswith(prefix)]
    assert len(matches) == 1, (prefix, matches)
    return matches[0]


def same_json(got, shown):
    """A real answer against the one the README shows, except for what changes from run to run: timestamps, and the
    hashes of a manifest, which the README shortens ("820e9589...daf65f1": the start and the end of the real one)."""
    got = json.loads(got)
    for path, digest in (got.get('files') or {}).items() if isinstance(got.get('files'), dict) else ():
        m = re.search(r'"%s":"(\w+)\.\.\.(\w+)"' % re.escape(path), shown)
        if m and digest.startswith(m.group(1)) and digest.endswith(m.group(2)):
            shown = shown.replace(m.group(0), '"%s":"%s"' % (path, digest))
    shown = json.loads(shown)
    for doc in (got, shown):
        doc.pop('updated', None)
    return got == shown


# -- tutorial/08-repo ----------------------------------------------------------------------------------------------

def test_08_repo_publish_run_switch_refuse_and_fail_over(tmp_path, processes):
    text = readme(os.path.join(STEP, 'README.md'))
    repo_port, app_port = free_port(), free_port()
    repo = 'http://127.0.0.1:%d' % repo_port
    repo_proc = start_repo(processes, str(tmp_path / 'repo'), repo_port)
    you = base_env(REPO=repo, AUTH='Authorization: Bearer ' + TOKEN, PORT=app_port)

    # "Publish a first version": each curl command as the README shows it, and the answer it shows.
    publish_commands = shown_commands(section(text, 'Publish a first version'))
    assert [c.split()[-1].rsplit('/', 1)[-1] for c, _ in publish_commands] == \
        ['codebases', 'main.py', 'entry', 'publish', '']
    for cmd, shown in publish_commands:
        status, out, err = sh(cmd, you)
        assert status == 0, (cmd, err)
        if shown:
            assert same_json(out, shown), 'README: %s\nshows %s\nbut the repo answered %s' % (cmd, shown, out)
        else:
            assert out == '', (cmd, out)

    # "Run a worker from the URL", on the test's ports, with its cache in the test's directory.
    worker = processes.pipyx(['%s/repo/hello/' % repo, '--repo-cache', str(tmp_path / 'cache')], app_port,
                             base_env(PORT=app_port), ROOT)
    assert answer(app_port) == 'Hello from version 1\n'
    me = wait_for(lambda: [i for i in instances(repo_port) if i['pid'] == worker.pid and i['status'] == 'running'])
    assert me and me[0]['version'] == 1 and me[0]['address'] == '0.0.0.0:%d' % app_port, instances(repo_port)

    # "Publish version 2": copy, edit, and publish.sh, while watch.py keeps asking.
    b_port = free_port()
    repo_b = 'http://127.0.0.1:%d' % b_port
    ours = {'/tmp/hello-app': str(tmp_path / 'hello-app'), 'http://localhost:6060': repo,
            'http://localhost:6061': repo_b}

    def run(prefix):
        return run_shown(text, prefix, you, ours)

    run('cp -r tutorial/08-repo/app ')
    run("sed -i 's/VERSION = 1/VERSION = 2/'")
    watch = processes.start([sys.executable, os.path.join(STEP, 'watch.py')], env=base_env(PORT=app_port, ROUNDS=7),
                            cwd=ROOT, name='watch')
    assert wait_for(lambda: 'new connection' in watch.log(), 5), watch.log()
    assert run('tutorial/08-repo/publish.sh /tmp/hello-app') == 'uploaded main.py\n{"version":2}\n'
    assert watch.wait(15) == 0, watch.log()
    lines = [line for line in watch.log().splitlines() if 'connection' in line]
    assert len(lines) == 7 and 'FAILED' not in watch.log(), watch.log()
    kept = [re.search(r'open connection: (.*?)\s+new connection', line).group(1) for line in lines]
    new = [line.rsplit('new connection: ', 1)[1] for line in lines]
    assert set(kept) == {'Hello from version 1'}, lines           # the open connection keeps its version...
    assert new[0] == 'Hello from version 1' and new[-1] == 'Hello from version 2', lines   # ...new ones switch
    assert new == sorted(new), lines                               # and once switched, never back
    assert answer(app_port) == 'Hello from version 2\n'
    assert 'switched to version 2 of hello' in worker.log()

    # "A version that does not load": refused, reported to the repo, and version 2 goes on serving.
    run("echo 'import no_such_module' >> /tmp/hello-app/main.py")
    assert run('tutorial/08-repo/publish.sh /tmp/hello-app') == 'uploaded main.py\n{"version":3}\n'
    failed = wait_for(lambda: [i for i in instances(repo_port) if i['pid'] == worker.pid and i['status'] == 'failed'])
    assert failed, instances(repo_port)
    shown_log = re.search(r'ERROR (version 3 failed to load.*)', section(text, 'A version that does not load')).group(1)
    assert shown_log in worker.log(), worker.log()           # the log line the README shows, word for word
    assert failed[0]['error'] == 'version 3: ' + shown_log.split('still running version 2: ')[1], failed
    assert failed[0]['version'] == 2
    assert answer(app_port) == 'Hello from version 2\n'
    run("sed -i '$d' /tmp/hello-app/main.py")
    assert run('tutorial/08-repo/publish.sh /tmp/hello-app') == 'uploaded main.py\n{"version":4}\n'
    assert wait_for(lambda: 'switched to version 4 of hello' in worker.log()), worker.log()
    assert wait_for(lambda: [i for i in instances(repo_port) if i['pid'] == worker.pid and i['status'] == 'running'
                             and i['version'] == 4 and i['error'] is None]), instances(repo_port)

    # "Several repos": a second repo, the worker restarted with both URLs, then the first repo stopped.
    start_repo(processes, str(tmp_path / 'repo-b'), b_port)
    assert run('for r in ') == 'uploaded main.py\n{"version":1}\n' * 2
    assert worker.stop() == 0
    both = command_line(text, 'pipyx http://localhost:6060/repo/hello-ha/,')
    for theirs, mine in ours.items():
        both = both.replace(theirs, mine)
    worker = processes.pipyx(both.split()[1:] + ['--repo-cache', str(tmp_path / 'cache-ha')], app_port,
                             base_env(PORT=app_port), ROOT)
    assert answer(app_port) == 'Hello from version 2\n'
    assert repo_proc.stop() == 0, repo_proc.log()
    run("sed -i 's/VERSION = 2/VERSION = 3/'")
    assert run('REPO=http://localhost:6061 tutorial/08-repo/publish.sh') == 'uploaded main.py\n{"version":2}\n'
    assert wait_for(lambda: answer(app_port) == 'Hello from version 3\n', 8), worker.log()
    assert 'repo unreachable' not in worker.log(), worker.log()


def test_08_repo_publish_sh_refuses_a_wrong_token(tmp_path, processes):
    repo_port = free_port()
    start_repo(processes, str(tmp_path / 'repo'), repo_port)
    status, out, err = sh('tutorial/08-repo/publish.sh tutorial/08-repo/app',
                          base_env(REPO='http://127.0.0.1:%d' % repo_port, PIPYX_REPO_TOKEN='wrong'))
    assert status != 0 and 'HTTP 403' in err, (status, out, err)
    listing = subprocess.run(['curl', '-sS', 'http://127.0.0.1:%d/api/v1/codebases' % repo_port],
                             capture_output=True, timeout=10).stdout
    assert json.loads(listing) == []


# -- samples/fleet ---------------------------------------------------------------------------------------------------

def healthz(port):
    try:
        status, headers, body = request(port, '/healthz')
    except OSError:
        return None
    return json.loads(body) if status == 200 else None


def test_fleet_runs_a_repo_and_two_workers_that_follow_each_deploy(tmp_path, processes):
    repo_port, w1, w2, b1, b2 = (free_port() for _ in range(5))
    # The demo backends of step 3, and a copy of the codebase pointed at them.
    processes.pipyx([os.path.join(ROOT, 'tutorial', '03-proxy', 'backend.py')], b1,
                    base_env(BACKEND_PORTS='%d,%d' % (b1, b2)), ROOT)
    assert wait_port(b2, 5)
    codebase = tmp_path / 'gateway'
    shutil.copytree(os.path.join(FLEET, 'codebase'), str(codebase))
    config = codebase / 'config.json'
    config.write_text(config.read_text().replace('127.0.0.1:8081', '127.0.0.1:%d' % b1)
                      .replace('127.0.0.1:8082', '127.0.0.1:%d' % b2))

    fleet = processes.start(['bash', os.path.join(FLEET, 'run.sh')], cwd=ROOT, name='fleet',
                            env=base_env(REPO_PORT=repo_port, WORKER_PORTS='%d,%d' % (w1, w2),
                                 FLEET_DIR=tmp_path / 'fleet', PIPYX='%s -m pipyx' % sys.executable,
                                 STOP_TIMEOUT=8))
    assert wait_for(lambda: fleet.log().count(' is pid ') == 3, 10), fleet.log()
    pids = {name: int(pid) for name, pid in re.findall(r'^fleet: (\w+) is pid (\d+)$', fleet.log(), re.M)}
    assert set(pids) == {'repo', 'w1', 'w2'}, fleet.log()
    try:
        assert wait_port(repo_port, 10, fleet.proc), fleet.log()

        def deploy(directory, *args):
            r = subprocess.run([sys.executable, os.path.join(FLEET, 'deploy.py'), str(directory),
                                '--repo', 'http://127.0.0.1:%d' % repo_port] + list(args),
                               env=base_env(), capture_output=True, timeout=30)
            return r.returncode, r.stdout.decode() + r.stderr.decode()

        # The first deploy: both workers, waiting since they started, take version 1 and say so to the repo.
        status, out = deploy(codebase, '--workers', '2')
        assert status == 0, out + fleet.log()
        assert 'created codebase gateway\npublished gateway version 1\n' in out, out
        assert re.search(r'0\.0\.0\.0:%d +runs version 1\n' % w1, out), out
        assert re.search(r'0\.0\.0\.0:%d +runs version 1\n' % w2, out), out
        for port, name in ((w1, 'w1'), (w2, 'w2')):
            assert healthz(port) == {'status': 'ok', 'release': '1.0', 'worker': name}
            st, headers, body = request(port, '/api/users')
            assert (st, body.decode()) == (200, 'backend %d: GET /api/users\n' % b1), fleet.log()
            assert (headers['x-release'], headers['x-worker']) == ('1.0', name)
        assert request(w1, '/')[2].decode() == 'backend %d: GET /\n' % b2

        # A new release: both switch.
        config.write_text(config.read_text().replace('"release": "1.0"', '"release": "1.1"'))
        status, out = deploy(codebase)
        assert status == 0 and 'published gateway version 2' in out, out
        for port, name in ((w1, 'w1'), (w2, 'w2')):
            assert healthz(port) == {'status': 'ok', 'release': '1.1', 'worker': name}, fleet.log()
        assert deploy(codebase) == (0, 'nothing changed: gateway stays at version 2\n')

        # A file removed from the directory leaves the codebase; a release that does not load is refused by both
        # workers, reported by deploy.py, and 1.1 goes on serving.
        (codebase / 'notes.txt').write_text('scratch\n')
        assert deploy(codebase, '--wait', '0') == (0, 'published gateway version 3\n')
        (codebase / 'notes.txt').unlink()
        config.write_text(config.read_text().replace('"/*": "web"', '"/*": "wbe"'))
        status, out = deploy(codebase)
        assert status == 1, out
        assert 'removed notes.txt\npublished gateway version 4\n' in out, out
        assert out.count("runs version 3, failed version 4: main.py:") == 2, out
        assert "unknown service 'wbe'" in out and '0 of 2 workers run version 4' in out, out
        assert healthz(w1)['release'] == healthz(w2)['release'] == '1.1'
    finally:
        # Stopping run.sh (by its pid) stops what it started: the workers, then the repo. Whatever it left behind is
        # killed here, by the pids it printed.
        status = fleet.stop(20)
        leftovers = [name for name, pid in pids.items() if alive(pid)]
        for name in leftovers:
            os.kill(pids[name], signal.SIGKILL)
    assert status == 0, fleet.log()
    assert leftovers == [], 'run.sh left %s running:\n%s' % (leftovers, fleet.log())
    assert 'fleet: stopped' in fleet.log()
    assert not wait_port(w1, 0.2) and not wait_port(w2, 0.2) and not wait_port(repo_port, 0.2)
