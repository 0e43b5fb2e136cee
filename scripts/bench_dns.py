"""The dns case of scripts/bench: dnsperf against three caching DNS forwarders of one upstream.

The upstream is an authoritative dnsmasq answering every name under bench.test (192.0.2.1, TTL 3600), on the load
generator's core. Forwarders, one worker/thread each, pinned to the servers' core, all sent to that upstream:
    dnsmasq      --server=127.0.0.1#UP --cache-size=10000 --dns-forward-max=1000 (dnsperf keeps 500 in flight)
    unbound      forward-zone "." to the upstream, num-threads 1, no validation, test. not kept local
    pipyx        samples/dns-proxy (CACHE_SIZE=10000)

Two loads, each server measured in turn, round by round:
    hot          dnsperf over NAMES distinct names the server has already been asked (a warm-up pass first):
                 every answer comes from its cache;
    miss         dnsperf over names never asked before (a fresh prefix per server and round): every query goes to
                 the upstream.
Reported: queries/s, CPU us per query of the server, the pipyx/dnsmasq ratios (targets: hot >= 1.0, miss >= 0.8) and
unbound beside them, and each server's memory per cached entry (RSS after the warm-up less RSS before, over NAMES).
"""
import os, re, shutil, socket, statistics, subprocess, sys, textwrap

from bench_support import (REPO, LOAD_CORE, SERVER_CORE, Server, StartError, free_port, tree_cpu_seconds,
                           trees_rss_kib)

SERVERS = ('dnsmasq', 'unbound', 'pipyx')
LOADS = ('hot', 'miss')
NAMES = 5000
TARGETS = {'hot': 1.0, 'miss': 0.8}
SAMPLE = os.path.join(REPO, 'samples', 'dns-proxy', 'main.py')


def dns_ready(port):
    """None once the port answers a DNS query over UDP, else what happened."""
    query = b'\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05ready\x05bench\x04test\x00\x00\x01\x00\x01'
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.5)
        try:
            s.sendto(query, ('127.0.0.1', port))
            answer = s.recv(4096)
        except OSError as e:
            return str(e) or type(e).__name__
    return None if answer[:2] == b'\x12\x34' else 'not a DNS answer'


def query_file(path, prefix, count):
    with open(path, 'w') as f:
        for i in range(count):
            f.write('%s%d.bench.test A\n' % (prefix, i))
    return path


def run_dnsperf(port, names_file, duration, pin):
    argv = (['taskset', '-c', str(LOAD_CORE)] if pin else []) + [
        'dnsperf', '-s', '127.0.0.1', '-p', str(port), '-d', names_file, '-l', str(duration), '-c', '1', '-T', '1',
        '-q', '500', '-t', '2']
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 30).stdout
    qps = re.search(r'Queries per second:\s+([\d.]+)', out)
    done = re.search(r'Queries completed:\s+(\d+)', out)
    lost = re.search(r'Queries lost:\s+(\d+)', out)
    codes = re.search(r'Response codes:\s+(.*)', out)
    if not qps:
        raise RuntimeError('dnsperf said:\n' + out[-800:])
    return {'qps': float(qps.group(1)), 'queries': int(done.group(1)), 'lost': int(lost.group(1)) if lost else 0,
            'rcodes': codes.group(1).strip() if codes else '?'}


def start_servers(workdir, up, pipyx_cmd, pin, start_timeout):
    servers, failures = [], []
    for name in SERVERS:
        port = free_port()
        env = {}
        if name == 'dnsmasq':
            argv = ['dnsmasq', '--no-daemon', '-u', 'root', '--port', str(port), '--listen-address=127.0.0.1',
                    '--bind-interfaces', '--no-resolv', '--no-hosts', '--pid-file=', '--server=127.0.0.1#%d' % up,
                    '--cache-size=10000', '--dns-forward-max=1000']
        elif name == 'unbound':
            conf = os.path.join(workdir, 'unbound.conf')
            with open(conf, 'w') as f:
                f.write(textwrap.dedent('''\
                    server:
                        interface: 127.0.0.1
                        port: %d
                        num-threads: 1
                        do-daemonize: no
                        chroot: ""
                        username: ""
                        pidfile: ""
                        use-syslog: no
                        logfile: ""
                        access-control: 127.0.0.0/8 allow
                        do-not-query-localhost: no
                        module-config: "iterator"
                        local-zone: "test." nodefault
                        msg-cache-size: 16m
                        rrset-cache-size: 32m
                    forward-zone:
                        name: "."
                        forward-addr: 127.0.0.1@%d
                    ''' % (port, up)))
            argv = ['unbound', '-d', '-c', conf]
        else:
            argv = pipyx_cmd + [SAMPLE]
            env = {'PORT': '127.0.0.1:%d' % port, 'UPSTREAMS': '127.0.0.1:%d' % up, 'CACHE_SIZE': '10000'}
        try:
            server = Server(name, port, argv, env, SERVER_CORE, workdir, pin)
            servers.append(server)
            server.wait_ready(start_timeout, probe=dns_ready)
            print('  %-8s up on port %d (pid %d)' % (name, port, server.pid), flush=True)
        except StartError as e:
            failures.append(str(e))
            print('  ! %s' % e, file=sys.stderr)
            if servers and servers[-1].name == name:
                servers.pop().stop()
    return servers, failures


def run_dns(args, workdir, pipyx_cmd, pin):
    """Returns ({'rounds': {server: {load: [results]}}, 'kib_per_entry': {server: KiB}}, failures)."""
    os.makedirs(workdir, exist_ok=True)
    results, per_entry = {}, {}
    up = free_port()
    upstream = Server('upstream', up, [
        'dnsmasq', '--no-daemon', '-u', 'root', '--port', str(up), '--listen-address=127.0.0.1', '--bind-interfaces',
        '--no-resolv', '--no-hosts', '--pid-file=', '--local-ttl=3600', '--address=/bench.test/192.0.2.1'],
        {}, LOAD_CORE, workdir, pin)
    servers = []
    try:
        try:
            upstream.wait_ready(args.start_timeout, probe=dns_ready)
        except StartError as e:
            return {'rounds': {}, 'kib_per_entry': {}}, ['upstream (dnsmasq): %s' % e]
        servers, failures = start_servers(workdir, up, pipyx_cmd, pin, args.start_timeout)
        hot = query_file(os.path.join(workdir, 'hot.txt'), 'n', NAMES)
        for server in servers:
            results[server.name] = {load: [] for load in LOADS}
            before = trees_rss_kib([server.pid])[server.pid]
            run_dnsperf(server.port, hot, max(args.warmup, 1), pin)
            after = trees_rss_kib([server.pid])[server.pid]
            per_entry[server.name] = (after - before) / NAMES
        for rnd in range(1, args.rounds + 1):
            for load in LOADS:
                for server in list(servers):
                    names = hot if load == 'hot' else query_file(
                        os.path.join(workdir, 'miss.txt'), 'm%d%s' % (rnd, server.name), 200000)
                    u0, s0 = tree_cpu_seconds(server.pid)
                    try:
                        r = run_dnsperf(server.port, names, args.duration, pin)
                    except (RuntimeError, subprocess.TimeoutExpired) as e:
                        failures.append('%s failed in round %d: %s\n%s' % (server.name, rnd, e, server.log_tail()))
                        servers.remove(server)
                        server.stop()
                        continue
                    u1, s1 = tree_cpu_seconds(server.pid)
                    r['cpu_us_per_query'] = ((u1 - u0) + (s1 - s0)) * 1e6 / max(r['queries'], 1)
                    results[server.name][load].append(r)
                    print('  round %d %-5s %-8s %10.0f q/s  lost %d  cpu %.2f us/query  (%s)' % (
                        rnd, load, server.name, r['qps'], r['lost'], r['cpu_us_per_query'], r['rcodes']), flush=True)
    finally:
        for server in reversed(servers + [upstream]):
            server.stop()
    return {'rounds': results, 'kib_per_entry': per_entry}, failures


def summarize_dns(case):
    med, checks = {}, []
    for name, loads in case['rounds'].items():
        for load, rounds in loads.items():
            if rounds:
                med.setdefault(name, {})[load] = {k: statistics.median(r[k] for r in rounds)
                                                  for k in ('qps', 'cpu_us_per_query')}
    for load in LOADS:
        for other in ('dnsmasq', 'unbound'):
            a = case['rounds'].get('pipyx', {}).get(load)
            b = case['rounds'].get(other, {}).get(load)
            if a and b:
                ratio = statistics.median(x['qps'] / y['qps'] for x, y in zip(a, b))
                target = TARGETS[load] if other == 'dnsmasq' else None
                checks.append({'load': load, 'against': other, 'ratio': ratio, 'target': target,
                               'pass': ratio >= target if target else None})
    return med, checks


def print_dns_table(case, med, checks, args):
    print('\n== dns: dnsperf -c1 -T1 against caching forwarders of one upstream, median of %d round(s) x %ds'
          % (args.rounds, args.duration))
    print('%-8s %12s %13s %12s %13s %14s' % ('server', 'hot q/s', 'hot us/q', 'miss q/s', 'miss us/q',
                                             'KiB/entry'))
    for name in SERVERS:
        m = med.get(name)
        if not m:
            print('%-8s %12s' % (name, 'FAILED'))
            continue
        h, s = m.get('hot', {}), m.get('miss', {})
        print('%-8s %12.0f %13.2f %12.0f %13.2f %14.2f' % (
            name, h.get('qps', 0), h.get('cpu_us_per_query', 0), s.get('qps', 0), s.get('cpu_us_per_query', 0),
            case['kib_per_entry'].get(name, 0)))
    for c in checks:
        verdict = ('PASS' if c['pass'] else 'MISS') if c['target'] else ''
        print('pipyx / %-7s %-4s q/s %6.2fx %s %s' % (
            c['against'], c['load'], c['ratio'], '(target >= %.2fx)' % c['target'] if c['target'] else '', verdict))


def missing_tools():
    return [t for t in ('dnsperf', 'dnsmasq', 'unbound') if not shutil.which(t)]
