"""The l4 case of scripts/bench: a TCP and UDP relay, pipyx's listen -> connect against nginx's stream module
(proxy_pass) and haproxy (mode tcp, which may splice), one worker each, pinned to the servers' core.

Upstreams, on the load generator's core: nginx serving HTTP (scripts/bench_cases/nginx_l4_origin.conf), and dnsmasq
answering DNS from memory. Loads, each through every relay in turn, rounds interleaved:
    bulk    wrk -c10 fetching a 1 MiB file over keep-alive connections: the bytes relayed per second (MiB/s)
            and the relay's CPU per MiB
    small   wrk -c50 fetching a 6-byte answer over keep-alive connections: requests per second and CPU per request
    conn    the same with `Connection: close`: a new relayed connection per request, connections per second
    udp     dnsperf through the UDP relay (haproxy has none): queries per second and CPU per query
Reported: medians, CPU per unit, and the pipyx/nginx-stream ratios (haproxy beside them).
"""
import os, re, shutil, statistics, subprocess, sys, time

from bench_support import (CASES_DIR, LOAD_CORE, SERVER_CORE, Server, StartError, free_port, http_ready,
                           nginx_argv, run_wrk, tree_cpu_seconds)

SERVERS = ('nginx-stream', 'haproxy', 'pipyx')
LOADS = ('bulk', 'small', 'conn', 'udp')
UNIT = {'bulk': 'MiB/s', 'small': 'req/s', 'conn': 'conn/s', 'udp': 'query/s'}
CPU_UNIT = {'bulk': 'us/MiB', 'small': 'us/req', 'conn': 'us/conn', 'udp': 'us/query'}
CONNECTIONS = {'bulk': 10, 'small': 50, 'conn': 50}
BIG = 1 << 20
SCRIPT = os.path.join(CASES_DIR, 'l4.py')
STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so'
HAPROXY_CONF = '''global
    nbthread 1
    maxconn 4000
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend relay
    bind 127.0.0.1:{port}
    default_backend upstream
backend upstream
    server origin 127.0.0.1:{backend}
'''


def udp_port():
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def dns_ready(port):
    """None once a DNS query to 127.0.0.1:port is answered."""
    import socket
    query = bytes.fromhex('abcd01000001000000000000') + b'\x07example\x04test\x00\x00\x01\x00\x01'
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.5)
        try:
            s.sendto(query, ('127.0.0.1', port))
            return None if s.recv(512)[:2] == b'\xab\xcd' else 'a wrong answer'
        except OSError as e:
            return 'no answer (%s)' % e


def run_dnsperf(port, duration, queries, pin):
    argv = (['taskset', '-c', str(LOAD_CORE)] if pin else []) + [
        'dnsperf', '-s', '127.0.0.1', '-p', str(port), '-d', queries, '-l', str(duration), '-c', '10', '-q', '100']
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 30).stdout
    m = re.search(r'Queries completed:\s+(\d+).*?Queries per second:\s+([\d.]+)', out, re.S)
    if not m:
        raise RuntimeError('cannot parse dnsperf output:\n%s' % out)
    return {'requests': int(m.group(1)), 'rate': float(m.group(2))}


def start_servers(args, workdir, pipyx_cmd, pin, origin_port, dns_port):
    """The relays that can run here, each up and answering through itself. Returns (servers, failures)."""
    servers, failures = [], []
    for name in SERVERS:
        port, uport = free_port(), udp_port()
        if name == 'nginx-stream':
            argv = nginx_argv(workdir, 'nginx-l4', 'nginx_l4_stream.conf', port, origin_port,
                              extra={'@UDP_PORT@': str(uport), '@UDP_BACKEND@': str(dns_port)})
            env = {}
        elif name == 'haproxy':
            if not shutil.which('haproxy'):
                print('  (haproxy not installed: its rows are left out)', file=sys.stderr)
                continue
            conf = os.path.join(workdir, 'haproxy.cfg')
            with open(conf, 'w') as f:
                f.write(HAPROXY_CONF.format(port=port, backend=origin_port))
            argv, env, uport = ['haproxy', '-db', '-f', conf], {}, None
        else:
            argv = pipyx_cmd + [SCRIPT]
            env = {'LISTEN': '127.0.0.1:%d' % port, 'TARGET': '127.0.0.1:%d' % origin_port,
                   'UDP_LISTEN': '127.0.0.1:%d' % uport, 'UDP_TARGET': '127.0.0.1:%d' % dns_port}
        try:
            server = Server(name, port, argv, env, SERVER_CORE, workdir, pin)
            servers.append(server)
            server.wait_ready(args.start_timeout)               # an HTTP answer from the origin, through it
            server.udp_port = uport
            if uport is not None:
                deadline = time.monotonic() + args.start_timeout
                while dns_ready(uport) is not None:
                    if time.monotonic() > deadline:
                        raise StartError('%s does not relay DNS on udp port %d' % (name, uport))
            print('  %-12s up on port %d (pid %d)' % (name, port, server.pid), flush=True)
        except StartError as e:
            failures.append(str(e))
            print('  ! %s' % e, file=sys.stderr)
            if servers and servers[-1].name == name:
                servers.pop().stop()
    return servers, failures


def measure(server, load, args, pin, queries):
    u0, s0 = tree_cpu_seconds(server.pid)
    if load == 'udp':
        r = run_dnsperf(server.udp_port, args.duration, queries, pin)
        units = r['requests']
    else:
        headers = ['Connection: close'] if load == 'conn' else []
        r = run_wrk(server.port, args.duration, CONNECTIONS[load], pin, path='/big' if load == 'bulk' else '/',
                    headers=headers)
        r['rate'] = r['rps'] * (BIG / (1 << 20) if load == 'bulk' else 1)
        units = r['requests'] * (BIG / (1 << 20) if load == 'bulk' else 1)
    u1, s1 = tree_cpu_seconds(server.pid)
    r['cpu_us'] = ((u1 - u0) + (s1 - s0)) * 1e6 / max(units, 1)
    return r


def run_l4(args, workdir, pipyx_cmd, pin):
    """Returns ({'rounds': {load: {server: [results]}}}, failures)."""
    os.makedirs(workdir, exist_ok=True)
    root = os.path.join(workdir, 'root')
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, 'big'), 'wb') as f:
        f.write(os.urandom(BIG))
    queries = os.path.join(workdir, 'queries')
    with open(queries, 'w') as f:
        f.write('example.test A\n')
    oport, dport = free_port(), udp_port()
    upstreams = [
        Server('origin', oport, nginx_argv(workdir, 'nginx-l4-origin', 'nginx_l4_origin.conf', oport,
                                           extra={'@ROOT@': root}), {}, LOAD_CORE, workdir, pin),
        Server('dnsmasq', dport, ['dnsmasq', '-k', '-C', '/dev/null', '--no-resolv', '--no-hosts',
                                  '--listen-address=127.0.0.1', '--bind-interfaces', '-p', str(dport),
                                  '--address=/example.test/192.0.2.1', '--cache-size=0',
                                  '--pid-file=' + os.path.join(workdir, 'dnsmasq.pid')],
               {}, LOAD_CORE, workdir, pin)]
    servers, results = [], {load: {} for load in LOADS}
    try:
        try:
            upstreams[0].wait_ready(args.start_timeout)
            upstreams[1].wait_ready(args.start_timeout, probe=dns_ready)
        except StartError as e:
            return {'rounds': results}, ['upstream: %s' % e]
        servers, failures = start_servers(args, workdir, pipyx_cmd, pin, oport, dport)
        for rnd in range(1, args.rounds + 1):
            for load in LOADS:
                for server in list(servers):
                    if load == 'udp' and server.udp_port is None:
                        continue
                    try:
                        r = measure(server, load, args, pin, queries)
                    except (RuntimeError, subprocess.TimeoutExpired) as e:
                        failures.append('%s %s failed in round %d: %s\n%s' % (server.name, load, rnd, e,
                                                                              server.log_tail()))
                        continue
                    results[load].setdefault(server.name, []).append(r)
                    print('  round %d %-5s %-12s %12.1f %-7s cpu %8.2f %s' % (
                        rnd, load, server.name, r['rate'], UNIT[load], r['cpu_us'], CPU_UNIT[load]), flush=True)
    finally:
        for server in reversed(upstreams + servers):
            server.stop()
    return {'rounds': results}, failures


def summarize_l4(case, targets):
    med, checks = {}, []
    for load, by_server in case['rounds'].items():
        for name, rounds in by_server.items():
            med.setdefault(load, {})[name] = {k: statistics.median(r[k] for r in rounds) for k in ('rate', 'cpu_us')}
        pipyx, nginx = by_server.get('pipyx'), by_server.get('nginx-stream')
        target = targets.get(load)
        if pipyx and nginx:
            ratio = statistics.median(a['rate'] / b['rate'] for a, b in zip(pipyx, nginx))
            checks.append({'load': load, 'ratio': ratio, 'target': target,
                           'pass': None if target is None else ratio >= target,
                           'cpu_ratio': med[load]['pipyx']['cpu_us'] / max(med[load]['nginx-stream']['cpu_us'],
                                                                           1e-9)})
        else:
            checks.append({'load': load, 'ratio': None, 'target': target, 'pass': None})
    return med, checks


def print_l4_table(case, med, checks, args):
    print('\n== l4: TCP and UDP relays, one worker each, median of %d round(s) x %ds' % (args.rounds, args.duration))
    print('%-6s %-12s %14s %16s' % ('load', 'server', 'rate', 'CPU'))
    for load in LOADS:
        for name in SERVERS:
            m = med.get(load, {}).get(name)
            if m:
                print('%-6s %-12s %10.1f %-7s %8.2f %s' % (load, name, m['rate'], UNIT[load], m['cpu_us'],
                                                          CPU_UNIT[load]))
    for c in checks:
        if c['ratio'] is None:
            print('%-6s pipyx / nginx-stream   n/a' % c['load'])
        else:
            print('%-6s pipyx / nginx-stream %6.2fx%s   CPU %.2fx' % (
                c['load'], c['ratio'], '' if c['target'] is None else '  (target >= %.2fx) %s' % (
                    c['target'], 'PASS' if c['pass'] else 'MISS'), c['cpu_ratio']))


def missing_tools():
    missing = [t for t in ('wrk', 'nginx', 'dnsperf', 'dnsmasq') if not shutil.which(t)]
    if not os.path.exists(STREAM_MODULE):
        missing.append('libnginx-mod-stream')
    return missing
