"""The files case of scripts/bench: static files from pipyx's serve_files against nginx.

Loads, each one URL fetched by wrk (1 thread, keep-alive, --latency) on one connection set:
    4k     GET /4k.bin, a 4096-byte file
    1m     GET /1m.bin, a 1 MiB (1048576-byte) file
    100m   GET /100m.bin, a 100 MiB file: far above the memory cap, sent with sendfile by every pipyx variant, so
           the figure that counts is MiB/s
    304    GET /4k.bin with If-None-Match set to the server's own ETag (read first with a plain GET): every answer is
           a 304 Not Modified, no body

The files are random bytes written into the run's temp dir (so in the page cache); `.bin` is
application/octet-stream, which neither server compresses, and wrk sends no Accept-Encoding anyway.

Servers, one worker each, pinned to the servers' core, started once for the whole case:
    nginx-tuned     sendfile on, tcp_nopush, open_file_cache (scripts/bench_cases/nginx_files_tuned.conf)
    nginx           nginx's defaults for files: sendfile off, no open_file_cache (nginx_files.conf)
    pipyx           serve_files(root) with its defaults (scripts/bench_cases/files.py): files up to max_file_size
                    (1 MiB, inclusive) are kept in memory and answered natively from ready-made bytes, so the 1 MiB
                    file takes the memory path
    pipyx-sendfile  the same with max_file_size one byte below 1 MiB, so /1m.bin goes out with sendfile(2); run on
                    the 1m load only (on the others it takes the same path as pipyx)

Before measuring, every server is asked for every load's URL the way wrk asks for it, twice: the status, the body's
length and bytes (equal to the file; nothing compressed) must be what the load expects, so the figures compare the
same work; a server that answers otherwise is left out of that load, and the case reports it. A separate pipyx
instance with cache_header='x-cache' tells which path (memory or sendfile) each file takes in each pipyx variant.

Each round runs every load on every server back to back; medians over rounds are reported per load, with the
ratios of pipyx to nginx-tuned (checked against targets) and to plain nginx (for reference), both as medians of
the per-round ratios. Each round line also gives wrk's CPU: near 100%, wrk sets the pace (on two cores it often
does, at 4k and 304), and the server's CPU per request is what tells the servers apart. A round is disturbed when
other processes used more than DISTURBED_PCT of the servers' core, or kept wrk waiting for its core more than that
share of the time.
"""
import os, shutil, socket, statistics, subprocess, sys, time

from bench_support import (REPO, LOAD_CORE, SERVER_CORE, Server, StartError, free_port, fmt_us, nginx_argv,
                           run_wrk, trees_cpu_seconds, cores_busy_seconds)

LOADS = ('4k', '1m', '100m', '304')
SERVERS = ('nginx-tuned', 'nginx', 'pipyx', 'pipyx-sendfile')
FILES = {'4k.bin': 4096, '1m.bin': 1 << 20, '100m.bin': 100 << 20}
# load -> (file, conditional): the URL is /file; a conditional load sends the server's own ETag in If-None-Match.
LOAD_FILE = {'4k': ('4k.bin', False), '1m': ('1m.bin', False), '100m': ('100m.bin', False), '304': ('4k.bin', True)}
ONLY_ON = {'pipyx-sendfile': ('1m',)}
# A 100 MiB answer takes a good part of a second: a few connections, and wrk waits for each (its default is 2 s).
LOAD_CONNECTIONS = {'100m': 4}
LOAD_TIMEOUT = {'100m': 30}
PIPYX_VARIANTS = {'pipyx': {}, 'pipyx-sendfile': {'MAX_FILE_SIZE': str((1 << 20) - 1)}}
NGINX_TEMPLATES = {'nginx-tuned': 'nginx_files_tuned.conf', 'nginx': 'nginx_files.conf'}
SCRIPT = os.path.join(REPO, 'scripts', 'bench_cases', 'files.py')
DISTURBED_PCT = 10


def missing_tools():
    return [t for t in ('wrk', 'nginx') if not shutil.which(t)]


def servers_for(load, selected):
    return [s for s in selected if load in ONLY_ON.get(s, LOADS)]


# ---------------------------------------------------------------- a plain HTTP client for the checks

def http_get(port, path, headers=(), timeout=5):
    """One GET as wrk sends it (HTTP/1.1, Host, the extra headers): {'status', 'fields', 'body', 'head_bytes'}."""
    request = 'GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s\r\n' % (path, port, ''.join(h + '\r\n' for h in headers))
    with socket.create_connection(('127.0.0.1', port), timeout=timeout) as s:
        s.sendall(request.encode('latin-1'))
        buf = b''
        while b'\r\n\r\n' not in buf:
            chunk = s.recv(65536)
            if not chunk:
                raise OSError('the connection closed before the end of the response head')
            buf += chunk
        head, body = buf.split(b'\r\n\r\n', 1)
        lines = head.decode('latin-1').split('\r\n')
        status = int(lines[0].split()[1])
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(':')
            fields[name.strip().lower()] = value.strip()
        if 'transfer-encoding' in fields:
            raise OSError('unexpected transfer-encoding: %s' % fields['transfer-encoding'])
        length = 0 if status == 304 or status == 204 or status < 200 else int(fields.get('content-length', -1))
        if length < 0:
            raise OSError('a %d without content-length' % status)
        while len(body) < length:
            chunk = s.recv(1 << 20)
            if not chunk:
                raise OSError('the connection closed after %d of %d body bytes' % (len(body), length))
            body += chunk
    return {'status': status, 'fields': fields, 'body': body[:length], 'head_bytes': len(head) + 4}


def files_ready(port):
    try:
        status = http_get(port, '/4k.bin', timeout=1)['status']
    except (OSError, ValueError, IndexError):
        return 'no answer'
    return None if status == 200 else 'HTTP status %s for /4k.bin' % status


# ---------------------------------------------------------------- set-up

def make_files(root):
    os.makedirs(root, exist_ok=True)
    contents = {}
    for name, size in FILES.items():
        contents[name] = os.urandom(size)
        with open(os.path.join(root, name), 'wb') as f:
            f.write(contents[name])
    return contents


def server_argv(name, port, workdir, root, pipyx_cmd, extra_env=None):
    if name in NGINX_TEMPLATES:
        return nginx_argv(workdir, 'nginx-files-' + name, NGINX_TEMPLATES[name], port,
                          extra={'@ROOT@': root}), {}
    env = dict(PIPYX_VARIANTS[name], PORT=str(port), ROOT=root)
    env.update(extra_env or {})
    return pipyx_cmd + [SCRIPT], env


def check_server(name, port, contents):
    """{load: (what the server answered, problem or None)}, and the server's ETag of /4k.bin (for the 304 load)."""
    answers, etag = {}, None
    for load in LOADS:
        file, conditional = LOAD_FILE[load]
        headers = ()
        if conditional:
            if etag is None:
                answers[load] = (None, 'no ETag on a plain GET of /%s' % file)
                continue
            headers = ('If-None-Match: %s' % etag,)
        seen, problem = [], None
        try:
            for _ in range(2):       # the first request may fill a cache, the second is answered from it
                seen.append(http_get(port, '/' + file, headers))
        except (OSError, ValueError, IndexError) as e:
            answers[load] = (None, 'GET /%s: %s' % (file, e))
            continue
        want_status, want_body = (304, b'') if conditional else (200, contents[file])
        for r in seen:
            if r['status'] != want_status:
                problem = 'GET /%s answered %d, not %d' % (file, r['status'], want_status)
            elif r['body'] != want_body:
                problem = 'GET /%s: a %d-byte body that is not the file (%d bytes)' % (file, len(r['body']),
                                                                                     len(want_body))
            elif 'content-encoding' in r['fields']:
                problem = 'GET /%s came with content-encoding: %s' % (file, r['fields']['content-encoding'])
        last = seen[-1]
        if not conditional and file == '4k.bin':
            etag = last['fields'].get('etag')
        answers[load] = ({'status': last['status'], 'body_bytes': len(last['body']),
                          'head_bytes': last['head_bytes'], 'etag': last['fields'].get('etag'),
                          'headers': ('If-None-Match: %s' % etag,) if conditional else ()}, problem)
    return answers, etag


def pipyx_paths(variants, root, workdir, pipyx_cmd, args, pin):
    """{variant: {file: 'memory' | 'sendfile'}}, from an instance of each variant with cache_header='x-cache':
    the second GET of a file kept in memory is a hit; a file above the cap is a miss every time (sent from disk
    with sendfile)."""
    paths = {}
    for name in variants:
        port = free_port()
        argv, env = server_argv(name, port, workdir, root, pipyx_cmd, {'X_CACHE': '1'})
        probe = Server(name + '-xcache', port, argv, env, SERVER_CORE, workdir, pin)
        try:
            probe.wait_ready(args.start_timeout, files_ready)
            paths[name] = {}
            for file in FILES:
                http_get(port, '/' + file)
                hit = http_get(port, '/' + file)['fields'].get('x-cache')
                paths[name][file] = {'hit': 'memory', 'miss': 'sendfile'}.get(hit, 'unknown (x-cache: %s)' % hit)
        finally:
            probe.stop()
    return paths


# ---------------------------------------------------------------- measurement

def measure(server, load, headers, args, pin):
    """One wrk run; the server's CPU and the cores' busy time are read around it."""
    t0, cpu0, cores0 = time.monotonic(), trees_cpu_seconds([server.pid])[server.pid], cores_busy_seconds()
    r = run_wrk(server.port, args.duration, LOAD_CONNECTIONS.get(load, args.connections), pin,
                '/' + LOAD_FILE[load][0], headers, LOAD_TIMEOUT.get(load))
    t1, cpu1, cores1 = time.monotonic(), trees_cpu_seconds([server.pid])[server.pid], cores_busy_seconds()
    if server.proc.poll() is not None:
        raise RuntimeError('exited with status %s during the run' % server.proc.returncode)
    if not r['requests']:
        raise RuntimeError('no request completed (%d errors)' % r['errors'])
    n = r['requests']
    r['user_us_per_req'] = (cpu1[0] - cpu0[0]) * 1e6 / n
    r['sys_us_per_req'] = (cpu1[1] - cpu0[1]) * 1e6 / n
    r['cpu_us_per_req'] = r['user_us_per_req'] + r['sys_us_per_req']
    if pin:
        ours = sum(cpu1) - sum(cpu0)
        r['other_cpu_pct'] = max(0.0, (cores1[SERVER_CORE] - cores0[SERVER_CORE] - ours) * 100 / (t1 - t0))
    return r


def run_files(args, workdir, pipyx_cmd, pin):
    """Write the files, start the servers, check their answers, run interleaved rounds. Returns (report,
    failures)."""
    root = os.path.join(workdir, 'www')
    contents = make_files(root)
    failures = []
    rounds = {load: {s: [] for s in servers_for(load, args.files_servers)} for load in args.files_loads}
    report = {'rounds': rounds, 'files': dict(FILES), 'responses': {}, 'pipyx_paths': {}, 'failures': failures,
              'pinning': {'wrk': LOAD_CORE, 'servers': SERVER_CORE} if pin else None}

    def fail(message):
        failures.append(message)
        print('  ! %s' % message, file=sys.stderr)

    servers = {}
    # load -> {server: wrk headers}: who is measured on which load, after the checks.
    plan = {load: {} for load in args.files_loads}
    needed = [s for s in args.files_servers if any(s in by_server for by_server in rounds.values())]
    try:
        variants = [s for s in needed if s in PIPYX_VARIANTS]
        if variants:
            try:
                report['pipyx_paths'] = pipyx_paths(variants, root, workdir, pipyx_cmd, args, pin)
                for name, files in report['pipyx_paths'].items():
                    print('  %s: %s' % (name, ', '.join('/%s %s' % kv for kv in files.items())), flush=True)
            except (StartError, OSError, ValueError, IndexError) as e:
                fail('pipyx x-cache probe: %s' % e)
        for name in needed:
            port = free_port()
            argv, env = server_argv(name, port, workdir, root, pipyx_cmd)
            try:
                server = servers[name] = Server(name, port, argv, env, SERVER_CORE, workdir, pin)
                server.wait_ready(args.start_timeout, files_ready)
            except StartError as e:
                fail(str(e))
                if name in servers:
                    servers.pop(name).stop()
                continue
            answers, _ = check_server(name, port, contents)
            report['responses'][name] = {load: a for load, (a, _) in answers.items()}
            for load in args.files_loads:
                answer, problem = answers[load]
                if name not in rounds[load]:
                    continue
                if problem:
                    fail('%s left out of the %s load: %s' % (name, load, problem))
                    continue
                plan[load][name] = answer['headers']
            print('  %-14s up on port %d (pid %d): %s' % (name, port, server.pid, '  '.join(
                '%s %s %dB+%dB' % (load, a['status'], a['head_bytes'], a['body_bytes'])
                for load, (a, _) in answers.items() if a and load in args.files_loads)), flush=True)
        if args.warmup > 0:
            print('  warming up: %ds per server and load' % args.warmup, flush=True)
            for load in args.files_loads:
                for name, headers in list(plan[load].items()):
                    try:
                        run_wrk(servers[name].port, args.warmup, LOAD_CONNECTIONS.get(load, args.connections), pin,
                                '/' + LOAD_FILE[load][0], headers, LOAD_TIMEOUT.get(load))
                    except (RuntimeError, subprocess.TimeoutExpired) as e:
                        fail('%s failed during the %s warm-up: %s\n%s' % (name, load, e, servers[name].log_tail()))
                        del plan[load][name]
        for rnd in range(1, args.rounds + 1):
            for load in args.files_loads:
                for name, headers in list(plan[load].items()):
                    server = servers[name]
                    try:
                        r = measure(server, load, headers, args, pin)
                    except (RuntimeError, subprocess.TimeoutExpired) as e:    # e.g. the server died under load
                        fail('%s failed in round %d (%s): %s\n%s' % (name, rnd, load, e, server.log_tail()))
                        for p in plan.values():
                            p.pop(name, None)
                        continue
                    r['round'] = rnd
                    rounds[load][name].append(r)
                    disturbance = ''.join(
                        ['  other load on core %d %.0f%%' % (SERVER_CORE, r['other_cpu_pct'])] * ('other_cpu_pct' in r)
                        + [', wrk waited %.0f%%' % r['load_wait_pct']] * ('load_wait_pct' in r))
                    print('  round %d %-4s %-14s %9.0f req/s  p50 %s  p99 %s  cpu %.2f us/req  wrk %.0f%%%s%s' % (
                        rnd, load, name, r['rps'], fmt_us(r['p50_us']), fmt_us(r['p99_us']), r['cpu_us_per_req'],
                        r['load_cpu_pct'], disturbance, '  errors %d' % r['errors'] if r['errors'] else ''),
                          flush=True)
    finally:
        for server in reversed(list(servers.values())):
            server.stop()
    return report, failures


# ---------------------------------------------------------------- report

def summarize_files(report, targets):
    """(medians: {load: {server: {...}}}, checks: [{'load', 'server', 'vs', 'ratio', 'target', 'pass', ...}])."""
    med, checks = {}, []
    for load, by_server in report['rounds'].items():
        med[load] = {}
        for name, rounds in by_server.items():
            if not rounds:
                continue
            m = med[load][name] = {k: statistics.median(r[k] for r in rounds)
                                   for k in ('rps', 'p50_us', 'p99_us', 'cpu_us_per_req', 'user_us_per_req',
                                             'sys_us_per_req')}
            m['errors'] = sum(r['errors'] for r in rounds)
            for key in ('other_cpu_pct', 'load_wait_pct'):
                if all(key in r for r in rounds):
                    m[key + '_max'] = max(r[key] for r in rounds)
        for name in ('pipyx', 'pipyx-sendfile'):
            if name not in by_server:
                continue
            for other in ('nginx-tuned', 'nginx'):
                if other not in by_server:
                    continue
                # pipyx-sendfile's targets are keyed 'sendfile/<other>': the path above the memory cap.
                target = targets.get(load, {}).get(other if name == 'pipyx' else 'sendfile/' + other)
                c = {'load': load, 'server': name, 'vs': other, 'target': target, 'ratio': None, 'pass': None}
                if name in med[load] and other in med[load]:
                    # The median of the per-round ratios: the servers run back to back in each round, under one
                    # state of the machine.
                    theirs = {r['round']: r for r in by_server[other]}
                    c['ratio'] = statistics.median(r['rps'] / theirs[r['round']]['rps'] for r in by_server[name]
                                                   if r['round'] in theirs)
                    c['cpu_ratio'] = med[load][name]['cpu_us_per_req'] / med[load][other]['cpu_us_per_req']
                    c['user_ratio'] = med[load][name]['user_us_per_req'] / max(med[load][other]['user_us_per_req'],
                                                                               1e-9)
                    c['pass'] = c['ratio'] >= target if target else None
                checks.append(c)
    return med, checks


def print_files_table(report, med, checks, args):
    print('\n== files: median of %d round(s) x %ds (+%ds warm-up), wrk -t1 -c%d, 1 worker each' % (
        args.rounds, args.duration, args.warmup, args.connections))
    for load in args.files_loads:
        file, conditional = LOAD_FILE[load]
        body = 0 if conditional else FILES[file]
        print('-- %s: GET /%s%s%s' % (load, file, ' with If-None-Match: its ETag -> 304, no body' if conditional
                                      else ' -> 200, %d-byte body' % body,
                                      ', wrk -c%d' % LOAD_CONNECTIONS[load] if load in LOAD_CONNECTIONS else ''))
        print('%-15s %10s %9s %9s %9s %11s %16s %7s' % ('server', 'req/s', 'MiB/s', 'p50', 'p99', 'CPU us/req',
                                                       'user+sys us/req', 'errors'))
        for name in servers_for(load, args.files_servers):
            m = med.get(load, {}).get(name)
            if not m:
                print('%-15s %10s' % (name, 'FAILED'))
                continue
            print('%-15s %10.0f %9s %9s %9s %11.2f %7.2f + %6.2f %7d' % (
                name, m['rps'], '%.0f' % (m['rps'] * body / (1 << 20)) if body else '-', fmt_us(m['p50_us']),
                fmt_us(m['p99_us']),
                m['cpu_us_per_req'], m['user_us_per_req'], m['sys_us_per_req'], m['errors']))
        for c in checks:
            if c['load'] != load:
                continue
            label = '%s/%s' % (c['server'], c['vs'])
            if c['ratio'] is None:
                print('%-26s req/s    n/a    not measured' % label)
                continue
            verdict = '(target >= %.2fx) %s' % (c['target'], 'PASS' if c['pass'] else 'MISS') if c['target'] \
                else '(reference)'
            print('%-26s req/s %5.2fx  %-23s CPU/req %.2fx  user CPU/req %.2fx' % (
                label, c['ratio'], verdict, c['cpu_ratio'], c['user_ratio']))
    for name, files in report['pipyx_paths'].items():
        print('%s serves %s' % (name, ', '.join('/%s (%d bytes) from %s' % (f, FILES[f], how)
                                                 for f, how in files.items())))
    other = max([m['other_cpu_pct_max'] for by in med.values() for m in by.values() if 'other_cpu_pct_max' in m]
                or [0])
    wait = max([m['load_wait_pct_max'] for by in med.values() for m in by.values() if 'load_wait_pct_max' in m]
               or [0])
    disturbed = ['other processes used up to %.0f%% of the servers\' core' % other] * (other > DISTURBED_PCT) + [
        'wrk waited for its core up to %.0f%% of the time' % wait] * (wait > DISTURBED_PCT)
    if disturbed:
        print('! disturbed: in some round %s; rerun on a quiet machine' % ' and '.join(disturbed))
