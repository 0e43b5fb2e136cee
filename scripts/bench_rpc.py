"""The rpc case of scripts/bench: RPC protocols through pipyx against their servers straight.

Redis (this file's part): redis-benchmark (-t get,set, --connections clients, pipelining 1 and 16) against
redis-server straight, and through samples/redis-proxy (decode_resp -> demux -> mux -> one shared upstream
connection), one pipyx worker. Rows: requests/s, the proxy's CPU us per request (user+system from /proc, the
measured window only), redis-server's CPU us per request, and the proxy/direct ratio (target at pipelining 1:
TARGETS['rpc']['redis'] in scripts/bench). Modes are interleaved round by round; medians over rounds.

Thrift rows (a thrift client load against a thriftpy2 server, straight, through pipyx's TCP relay and through the
Thrift router) belong to this case too: run_rpc() runs every part in PARTS whose tools are here.
"""
import csv, io, os, shutil, statistics, subprocess, time

from bench_support import (REPO, LOAD_CORE, SERVER_CORE, Server, StartError, free_port, fmt_us, tcp_ready,
                           tree_cpu_seconds)

REDIS_PROXY = os.path.join(REPO, 'samples', 'redis-proxy', 'main.py')
REDIS_MODES = ('direct', 'proxy')
PIPELINES = (1, 16)
REQUESTS_PER_SECOND_GUESS = 40000     # sizes -n so that a run lasts about --duration at pipelining 1


def missing_tools():
    return [t for t in ('redis-server', 'redis-benchmark') if not shutil.which(t)]


def redis_ready(port):
    try:
        out = subprocess.run(['redis-cli', '-p', str(port), 'PING'], capture_output=True, timeout=2, text=True)
    except (OSError, subprocess.SubprocessError) as e:
        return str(e)
    return None if out.stdout.strip() == 'PONG' else 'no PONG (%s)' % (out.stdout.strip() or out.stderr.strip())


def run_benchmark(port, requests, connections, pipeline, pin):
    """{'SET': req/s, 'GET': req/s} from one redis-benchmark run."""
    argv = (['taskset', '-c', str(LOAD_CORE)] if pin else []) + [
        'redis-benchmark', '-p', str(port), '-t', 'get,set', '-c', str(connections), '-P', str(pipeline),
        '-n', str(requests), '-r', '10000', '--csv']
    out = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise StartError('redis-benchmark failed: %s' % out.stderr.strip()[-500:])
    rows = {}
    for row in csv.reader(io.StringIO(out.stdout)):
        if len(row) >= 2 and row[0] in ('SET', 'GET'):
            rows[row[0]] = float(row[1])
    if set(rows) != {'SET', 'GET'}:
        raise StartError('redis-benchmark printed no GET/SET rows:\n%s' % out.stdout[-500:])
    return rows


def measure(port, cpu_pids, args, pipeline, pin):
    requests = max(1000, int(args.duration * REQUESTS_PER_SECOND_GUESS * (4 if pipeline > 1 else 1)))
    before = [sum(tree_cpu_seconds(p)) for p in cpu_pids]
    t0 = time.monotonic()
    rows = run_benchmark(port, requests, args.connections, pipeline, pin)
    elapsed = time.monotonic() - t0
    cpu = [sum(tree_cpu_seconds(p)) - b for p, b in zip(cpu_pids, before)]
    total = 2 * requests                                  # (-t get,set: n of each)
    return {'rps': statistics.mean(rows.values()), 'set_rps': rows['SET'], 'get_rps': rows['GET'],
            'elapsed': elapsed, 'requests': total, 'cpu_us': [c * 1e6 / total for c in cpu]}


def run_redis(args, workdir, pipyx_cmd, pin):
    os.makedirs(workdir, exist_ok=True)
    servers, failures, rounds = [], [], []
    try:
        rport, pport = free_port(), free_port()
        redis = Server('redis-server', rport, ['redis-server', '--port', str(rport), '--bind', '127.0.0.1',
                                               '--save', '', '--appendonly', 'no', '--dir', workdir],
                       {}, SERVER_CORE, workdir, pin)
        servers.append(redis)
        redis.wait_ready(10, redis_ready)
        proxy = Server('redis-proxy', pport, pipyx_cmd + [REDIS_PROXY],
                       {'PORT': str(pport), 'UPSTREAM': '127.0.0.1:%d' % rport}, SERVER_CORE, workdir, pin)
        servers.append(proxy)
        proxy.wait_ready(20, redis_ready)
        for rnd in range(args.rounds):
            row = {}
            for pipeline in PIPELINES:
                for mode in REDIS_MODES:
                    port, pids = (rport, [redis.pid]) if mode == 'direct' else (pport, [proxy.pid, redis.pid])
                    if args.warmup:
                        run_benchmark(port, 2000, args.connections, pipeline, pin)
                    m = measure(port, pids, args, pipeline, pin)
                    row['%s-P%d' % (mode, pipeline)] = m
                    print('  round %d %-6s P%-2d %9.0f req/s  CPU us/req %s' % (
                        rnd + 1, mode, pipeline, m['rps'], ' '.join(fmt_us(c) for c in m['cpu_us'])), flush=True)
            rounds.append(row)
    except StartError as e:
        failures.append(str(e))
    finally:
        for s in reversed(servers):
            s.stop()
    return rounds, failures


PARTS = {'redis': (missing_tools, run_redis)}


def run_rpc(args, workdir, pipyx_cmd, pin):
    report, failures = {'parts': {}}, []
    for name, (missing, run) in PARTS.items():
        lacking = missing()
        if lacking:
            failures.append('%s part skipped: %s not installed' % (name, ', '.join(lacking)))
            continue
        rounds, f = run(args, os.path.join(workdir, name), pipyx_cmd, pin)
        report['parts'][name] = {'rounds': rounds}
        failures += f
    return report, failures


def summarize_rpc(report, targets):
    med, checks = {}, []
    rounds = report['parts'].get('redis', {}).get('rounds') or []
    for key in (rounds[0] if rounds else {}):
        med[key] = {'rps': statistics.median(r[key]['rps'] for r in rounds),
                    'cpu_us': [statistics.median(r[key]['cpu_us'][i] for r in rounds)
                               for i in range(len(rounds[0][key]['cpu_us']))]}
    for pipeline in PIPELINES:
        d, p = med.get('direct-P%d' % pipeline), med.get('proxy-P%d' % pipeline)
        if d and p and d['rps']:
            ratio = p['rps'] / d['rps']
            target = targets.get('redis') if pipeline == 1 else None
            checks.append({'what': 'redis proxy/direct, pipelining %d' % pipeline, 'ratio': ratio,
                           'target': target, 'ok': None if target is None else ratio >= target})
    return med, checks


def print_rpc_table(report, med, checks, args):
    print('\n== rpc: Redis, redis-benchmark -t get,set -c %d, %ds runs, median of %d rounds'
          % (args.connections, args.duration, args.rounds))
    print('%-10s %5s %12s %16s %16s' % ('mode', 'P', 'req/s', 'pipyx CPU us/req', 'redis CPU us/req'))
    for key, m in med.items():
        mode, pipeline = key.rsplit('-P', 1)
        pipyx_cpu = fmt_us(m['cpu_us'][0]) if mode == 'proxy' else '-'
        print('%-10s %5s %12.0f %16s %16s' % (mode, pipeline, m['rps'], pipyx_cpu, fmt_us(m['cpu_us'][-1])))
    for c in checks:
        verdict = '' if c['ok'] is None else ('  ok' if c['ok'] else '  BELOW TARGET %.2f' % c['target'])
        print('%s: %.2fx%s' % (c['what'], c['ratio'], verdict))
