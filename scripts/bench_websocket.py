"""The websocket case of scripts/bench: many small WebSocket messages echoed through a reverse proxy, pipyx's
demux_http -> mux_http -> connect (the upgrade passed through) against nginx's proxy_pass with Upgrade.

The upstream is samples/websocket (a pipyx script echoing every message) on the load generator's core. The load
generator is scripts/ws_load.c, compiled into the temp dir: --connections WebSocket connections, each keeping
--inflight 16-byte text messages outstanding and sending one more for every echo. Servers, one worker each, pinned
to the servers' core:
    nginx    proxy_pass with Upgrade/Connection set (scripts/bench_cases/nginx_websocket.conf)
    pipyx    scripts/bench_cases/websocket.py

Rounds are interleaved; medians of messages/s and server CPU per message are reported, with the pipyx/nginx ratio
(the median of the per-round ratios).
"""
import json, os, shutil, statistics, subprocess, sys

from bench_support import (REPO, LOAD_CORE, SERVER_CORE, Server, StartError, free_port, nginx_argv, tcp_ready,
                           tree_cpu_seconds)

SERVERS = ('nginx', 'pipyx')
SCRIPT = os.path.join(REPO, 'scripts', 'bench_cases', 'websocket.py')
ECHO = os.path.join(REPO, 'samples', 'websocket', 'main.py')
LOAD_SOURCE = os.path.join(REPO, 'scripts', 'ws_load.c')
INFLIGHT = 10
PAYLOAD = 16


def compile_load(workdir):
    path = os.path.join(workdir, 'ws_load')
    subprocess.run(['cc', '-O2', '-o', path, LOAD_SOURCE], check=True, capture_output=True, timeout=60)
    return path


def run_load(load, port, duration, warmup, connections, pin):
    """One pinned run of ws_load; its summary dict (raises RuntimeError when it fails)."""
    argv = (['taskset', '-c', str(LOAD_CORE)] if pin else []) + [
        load, '--port', str(port), '--path', '/echo', '--connections', str(connections), '--duration', str(duration),
        '--warmup', str(warmup), '--payload', str(PAYLOAD), '--inflight', str(INFLIGHT)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + warmup + 60)
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.startswith('{')]
    done = [d for d in lines if d.get('event') == 'done']
    if out.returncode != 0 or not done:
        raise RuntimeError('ws_load exited %d: %s %s' % (out.returncode, out.stderr.strip()[-300:],
                                                         done[-1] if done else ''))
    return done[-1]


def run_websocket(args, workdir, pipyx_cmd, pin):
    """Returns ({'rounds': {server: [results]}}, failures)."""
    os.makedirs(workdir, exist_ok=True)
    failures, servers, results = [], [], {}
    try:
        load = compile_load(workdir)
    except (OSError, subprocess.SubprocessError) as e:
        return {'rounds': {}}, ['cannot compile %s: %s' % (LOAD_SOURCE, e)]
    eport = free_port()
    echo = Server('echo', eport, pipyx_cmd + [ECHO], {'PORT': str(eport)}, LOAD_CORE, workdir, pin)
    try:
        try:
            echo.wait_ready(args.start_timeout)
        except StartError as e:
            return {'rounds': {}}, ['echo upstream (samples/websocket): %s' % e]
        for name in SERVERS:
            port = free_port()
            if name == 'nginx':
                argv, env = nginx_argv(workdir, 'nginx-websocket', 'nginx_websocket.conf', port, eport), {}
            else:
                argv, env = pipyx_cmd + [SCRIPT], {'PORT': str(port), 'TARGET': '127.0.0.1:%d' % eport}
            try:
                server = Server(name, port, argv, env, SERVER_CORE, workdir, pin)
                servers.append(server)
                server.wait_ready(args.start_timeout, probe=tcp_ready)
                run_load(load, port, 0.5, 0, 2, pin)          # the upgrade and the echo work through it
                print('  %-6s up on port %d (pid %d)' % (name, port, server.pid), flush=True)
            except (StartError, RuntimeError, subprocess.SubprocessError) as e:
                failures.append('%s: %s' % (name, e))
                print('  ! %s: %s' % (name, e), file=sys.stderr)
                if servers and servers[-1].name == name:
                    servers.pop().stop()
                continue
            results[name] = []
        for rnd in range(1, args.rounds + 1):
            for server in list(servers):
                u0, s0 = tree_cpu_seconds(server.pid)
                try:
                    r = run_load(load, server.port, args.duration, args.warmup, args.connections, pin)
                except (RuntimeError, subprocess.SubprocessError) as e:
                    failures.append('%s failed in round %d: %s\n%s' % (server.name, rnd, e, server.log_tail()))
                    servers.remove(server)
                    server.stop()
                    continue
                u1, s1 = tree_cpu_seconds(server.pid)
                # CPU over warm-up and measured time, per message echoed in the measured time: an upper bound
                r['cpu_us_per_msg'] = ((u1 - u0) + (s1 - s0)) * 1e6 / max(r['messages'], 1)
                results[server.name].append(r)
                print('  round %d %-6s %10.0f msg/s  cpu %.2f us/msg' % (rnd, server.name, r['rate'],
                                                                        r['cpu_us_per_msg']), flush=True)
    finally:
        for server in reversed(servers + [echo]):
            server.stop()
    return {'rounds': results}, failures


def summarize_websocket(case, target):
    med, checks = {}, []
    for name, rounds in case['rounds'].items():
        if rounds:
            med[name] = {k: statistics.median(r[k] for r in rounds) for k in ('rate', 'cpu_us_per_msg')}
    if 'pipyx' in med and 'nginx' in med:
        ratio = statistics.median(a['rate'] / b['rate'] for a, b in zip(case['rounds']['pipyx'],
                                                                        case['rounds']['nginx']))
        checks.append({'server': 'pipyx', 'ratio': ratio, 'target': target, 'pass': ratio >= target,
                       'cpu_ratio': med['pipyx']['cpu_us_per_msg'] / med['nginx']['cpu_us_per_msg']})
    else:
        checks.append({'server': 'pipyx', 'ratio': None, 'target': target, 'pass': None})
    return med, checks


def print_websocket_table(case, med, checks, args):
    print('\n== websocket: %d-byte messages echoed through a reverse proxy, %d in flight per connection, median of '
          '%d round(s) x %ds, %d connections' % (PAYLOAD, INFLIGHT, args.rounds, args.duration, args.connections))
    print('%-8s %12s %13s' % ('server', 'msg/s', 'CPU us/msg'))
    for name in SERVERS:
        m = med.get(name)
        if m:
            print('%-8s %12.0f %13.2f' % (name, m['rate'], m['cpu_us_per_msg']))
        else:
            print('%-8s %12s' % (name, 'FAILED'))
    for c in checks:
        if c['ratio'] is None:
            print('pipyx / nginx msg/s    n/a    (target >= %.2fx) not measured' % c['target'])
        else:
            print('pipyx / nginx msg/s %6.2fx  (target >= %.2fx) %s   CPU/msg %.2fx' % (
                c['ratio'], c['target'], 'PASS' if c['pass'] else 'MISS', c['cpu_ratio']))


def missing_tools():
    return [t for t in ('nginx', 'cc') if not shutil.which(t)]
