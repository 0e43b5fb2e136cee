"""The tls case of scripts/bench: pipyx's TLS filters against nginx's ssl, one worker each, the same ECDSA P-256
certificate (made with the openssl command for the run), TLS 1.3, ssl_session_cache on nginx.

Rows, each a pair of servers (nginx, pipyx) measured in interleaved rounds:
    hello       HTTPS hello on keep-alive connections: accept_tls -> serve_http against nginx `return 200`
                (bench_cases/tls.py, nginx_tls.conf).
    front       HTTPS in front of a plain keep-alive upstream: accept_tls -> demux_http -> mux_http -> connect
                against nginx ssl + proxy_pass with keepalive (tls_front.py, nginx_tls_front.conf). The upstream
                is nginx's plain hello on the load generator's core.
    upstream    plain HTTP in, HTTPS to the upstream: mux_http -> connect_tls -> connect (a keep-alive pool whose
                connections resume their sessions) against nginx proxy_pass https:// with keepalive and
                proxy_ssl_session_reuse (tls_upstream.py, nginx_tls_upstream.conf). The upstream is nginx's HTTPS
                hello on the load generator's core.
    handshakes  new TLS connections per second: the hello servers, wrk sending `Connection: close`, so each request
                is a connection and a full handshake (ECDHE P-256, the session cache unused by wrk).
Then idle memory: --tls-idle connections (default 1000) to each hello server, each with its handshake and one
request done, held open; the server's RSS with them minus before, per connection.

Medians of req/s, latency and server CPU per request are reported, with pipyx/nginx (the median of the per-round
ratios) against the issue's targets.
"""
import os, resource, shutil, socket, ssl, statistics, subprocess, sys, time

from bench_support import (LOAD_CORE, SERVER_CORE, CASES_DIR, Server, StartError, free_port, fmt_us, http_ready,
                           https_ready, nginx_argv, nofile_at_least, run_wrk, tree_cpu_seconds, trees_rss_kib)

ROWS = ('hello', 'front', 'upstream', 'handshakes')
TARGETS = {'hello': 1.0, 'front': 1.0, 'upstream': 0.9, 'handshakes': 0.9}
IDLE_KIB_TARGET = 48
# row -> (nginx template, pipyx script, the scheme clients speak, the upstream: None, 'http' or 'https')
SETUP = {'hello': ('nginx_tls.conf', 'tls.py', 'https', None),
         'front': ('nginx_tls_front.conf', 'tls_front.py', 'https', 'http'),
         'upstream': ('nginx_tls_upstream.conf', 'tls_upstream.py', 'http', 'https'),
         'handshakes': ('nginx_tls.conf', 'tls.py', 'https', None)}
CLOSE = {'handshakes': ['Connection: close']}


def tls_certificate(workdir):
    """The certificate and key (ECDSA P-256, self-signed, CN localhost), made once per run."""
    cert, key = os.path.join(workdir, 'tls-cert.pem'), os.path.join(workdir, 'tls-key.pem')
    if not os.path.exists(cert):
        subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
                        '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'],
                       check=True, capture_output=True, timeout=60)
    return cert, key


def start_upstream(kind, workdir, cert, key, pin, timeout):
    port = free_port()
    if kind == 'http':
        argv, probe = nginx_argv(workdir, 'nginx-upstream-http', 'nginx_hello.conf', port), http_ready
    else:
        argv = nginx_argv(workdir, 'nginx-upstream-https', 'nginx_tls.conf', port, extra={'@CERT@': cert,
                                                                                         '@KEY@': key})
        probe = https_ready
    upstream = Server('upstream-' + kind, port, argv, {}, LOAD_CORE, workdir, pin)
    upstream.wait_ready(timeout, probe)
    return upstream


def start_pair(row, args, workdir, pipyx_cmd, pin, cert, key, upstream_port):
    """The row's nginx and pipyx, ready and warmed up: [(name, Server)]."""
    template, script, scheme, _ = SETUP[row]
    servers = []
    for name in ('nginx', 'pipyx'):
        port = free_port()
        env = {'PORT': str(port), 'CERT': cert, 'KEY': key}
        if upstream_port:
            env['TARGET'] = '127.0.0.1:%d' % upstream_port
        if name == 'nginx':
            argv = nginx_argv(workdir, 'nginx-tls-' + row, template, port, upstream_port,
                              {'@CERT@': cert, '@KEY@': key})
        else:
            argv = pipyx_cmd + [os.path.join(CASES_DIR, script)]
        server = Server('%s-%s' % (name, row), port, argv, env, SERVER_CORE, workdir, pin,
                        nofile=args.tls_idle + 256)
        servers.append((name, server))
        server.wait_ready(args.start_timeout, https_ready if scheme == 'https' else http_ready)
        if args.warmup > 0:
            run_wrk(port, args.warmup, args.connections, pin, scheme=scheme, headers=CLOSE.get(row, ()))
        print('  %-18s up on port %d (pid %d)' % (server.name, port, server.pid), flush=True)
    return servers


def measure(server, row, args, pin):
    u0, s0 = tree_cpu_seconds(server.pid)
    r = run_wrk(server.port, args.duration, args.connections, pin, scheme=SETUP[row][2], headers=CLOSE.get(row, ()))
    u1, s1 = tree_cpu_seconds(server.pid)
    if server.proc.poll() is not None:
        raise RuntimeError('exited with status %s during the run' % server.proc.returncode)
    if not r['requests']:
        raise RuntimeError('no request completed (%d errors)' % r['errors'])
    r['cpu_us_per_req'] = ((u1 - u0) + (s1 - s0)) * 1e6 / r['requests']
    return r


def idle_memory(server, n):
    """KiB of RSS per idle TLS connection: n connections, each after its handshake and one request, held open."""
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    before = trees_rss_kib([server.pid])[server.pid]
    held = []
    try:
        for _ in range(n):
            s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', server.port), timeout=5),
                                server_hostname='localhost')
            s.sendall(b'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n')
            got = b''
            while not got.endswith(b'hi'):
                b = s.recv(4096)
                if not b:
                    raise RuntimeError('a connection closed before its answer')
                got += b
            held.append(s)
        time.sleep(1.0)                      # the server settles: what a request allotted is given back
        after = trees_rss_kib([server.pid])[server.pid]
    finally:
        for s in held:
            s.close()
    return (after - before) / n, before, after


def run_tls(args, workdir, pipyx_cmd, pin):
    """Returns ({'rounds': {row: {server: [results]}}, 'idle': {server: (KiB per connection, before, after)}},
    failures)."""
    os.makedirs(workdir, exist_ok=True)
    cert, key = tls_certificate(workdir)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < args.tls_idle + 256:           # this process holds the idle connections' client ends
        nofile_at_least(args.tls_idle + 256)()
    results, idle, failures = {}, {}, []
    for row in args.tls_rows:
        print('  - %s' % row, flush=True)
        upstream, servers = None, []
        try:
            try:
                if SETUP[row][3]:
                    upstream = start_upstream(SETUP[row][3], workdir, cert, key, pin, args.start_timeout)
                servers = start_pair(row, args, workdir, pipyx_cmd, pin, cert, key, upstream and upstream.port)
            except (StartError, RuntimeError, subprocess.TimeoutExpired) as e:
                failures.append('%s: %s' % (row, e))
                print('  ! %s' % failures[-1], file=sys.stderr)
                continue
            results[row] = {name: [] for name, _ in servers}
            for rnd in range(1, args.rounds + 1):
                for name, server in servers:
                    try:
                        r = measure(server, row, args, pin)
                    except (RuntimeError, subprocess.TimeoutExpired) as e:
                        failures.append('%s %s failed in round %d: %s\n%s' % (row, name, rnd, e, server.log_tail()))
                        print('  ! %s' % failures[-1], file=sys.stderr)
                        continue
                    results[row][name].append(r)
                    print('  round %d %-18s %10.0f req/s  p50 %s  p99 %s  cpu %.2f us/req%s' % (
                        rnd, server.name, r['rps'], fmt_us(r['p50_us']), fmt_us(r['p99_us']), r['cpu_us_per_req'],
                        '  errors %d' % r['errors'] if r['errors'] else ''), flush=True)
            if row == 'hello' and args.tls_idle > 0:
                for name, server in servers:
                    try:
                        idle[name] = idle_memory(server, args.tls_idle)
                        print('  idle %-18s %.1f KiB per connection' % (server.name, idle[name][0]), flush=True)
                    except (OSError, RuntimeError) as e:
                        failures.append('idle memory of %s: %s' % (name, e))
        finally:
            for _, server in reversed(servers):
                server.stop()
            if upstream is not None:
                upstream.stop()
    return {'rounds': results, 'idle': idle}, failures


def summarize_tls(case):
    med, checks = {}, []
    for row, by_server in case['rounds'].items():
        med[row] = {}
        for name, rounds in by_server.items():
            if rounds:
                med[row][name] = {k: statistics.median(r[k] for r in rounds)
                                  for k in ('rps', 'p50_us', 'p99_us', 'cpu_us_per_req')}
        a, b = by_server.get('pipyx'), by_server.get('nginx')
        if a and b:
            ratio = statistics.median(x['rps'] / y['rps'] for x, y in zip(a, b))
            checks.append({'row': row, 'ratio': ratio, 'target': TARGETS[row], 'pass': ratio >= TARGETS[row],
                           'cpu_ratio': med[row]['pipyx']['cpu_us_per_req'] / med[row]['nginx']['cpu_us_per_req']})
        else:
            checks.append({'row': row, 'ratio': None, 'target': TARGETS[row], 'pass': None})
    if 'pipyx' in case['idle']:
        kib = case['idle']['pipyx'][0]
        checks.append({'row': 'idle', 'kib': kib, 'target': IDLE_KIB_TARGET, 'pass': kib <= IDLE_KIB_TARGET})
    return med, checks


def print_tls_table(case, med, checks, args):
    print('\n== tls: median of %d round(s) x %ds, wrk -t1 -c%d, TLS 1.3, ECDSA P-256'
          % (args.rounds, args.duration, args.connections))
    print('%-11s %-6s %12s %10s %10s %13s' % ('row', 'server', 'req/s', 'p50', 'p99', 'CPU us/req'))
    for row in args.tls_rows:
        for name in ('nginx', 'pipyx'):
            m = med.get(row, {}).get(name)
            if m:
                print('%-11s %-6s %12.0f %10s %10s %13.2f' % (row, name, m['rps'], fmt_us(m['p50_us']),
                                                              fmt_us(m['p99_us']), m['cpu_us_per_req']))
            else:
                print('%-11s %-6s %12s' % (row, name, 'FAILED'))
    for name, (kib, before, after) in sorted(case['idle'].items()):
        print('idle        %-6s %9.1f KiB per TLS connection (RSS %d -> %d KiB, %d connections)'
              % (name, kib, before, after, args.tls_idle))
    for c in checks:
        if c['row'] == 'idle':
            print('pipyx idle memory %.1f KiB per connection (target <= %d KiB) %s'
                  % (c['kib'], c['target'], 'PASS' if c['pass'] else 'MISS'))
        elif c['ratio'] is None:
            print('pipyx/nginx %-10s n/a    (target >= %.2fx) not measured' % (c['row'], c['target']))
        else:
            print('pipyx/nginx %-10s %6.2fx  (target >= %.2fx) %s   CPU/req %.2fx' % (
                c['row'], c['ratio'], c['target'], 'PASS' if c['pass'] else 'MISS', c['cpu_ratio']))


def missing_tools():
    return [t for t in ('wrk', 'nginx', 'openssl') if not shutil.which(t)]
