"""The compress case of scripts/bench: a reverse proxy compressing a 16 KiB JSON response, pipyx's compress_http
against nginx's gzip.

The upstream is nginx serving one 16 KiB JSON document (scripts/bench_cases/nginx_json_origin.conf) on the load
generator's core, over keep-alive connections. Servers, one worker each, pinned to the servers' core:
    nginx        proxy_pass + keepalive, gzip on, gzip_comp_level 1, gzip_types application/json
                 (scripts/bench_cases/nginx_compress.conf); wrk sends Accept-Encoding: gzip
    pipyx-gzip   demux_http -> mux_http -> connect, then compress_http('gzip', level=1)
                 (scripts/bench_cases/compress.py); Accept-Encoding: gzip
    pipyx-br     the same with compress_http('br', level=1); Accept-Encoding: br. Debian's nginx has no brotli
                 module, so brotli is compared with nginx's gzip: the same job (a compressed JSON response) done
                 with another coding, smaller and cheaper at level 1.

Before measuring, each server is asked once the way wrk asks: the answer must carry the expected Content-Encoding
and decode to the document. Rounds are interleaved; medians of req/s, latency and server CPU per request are
reported, with the ratio of each pipyx variant to nginx (the median of the per-round ratios) and the compressed
size each server sends.
"""
import gzip, json, os, shutil, socket, statistics, sys

from bench_support import (REPO, LOAD_CORE, SERVER_CORE, Server, StartError, free_port, fmt_us, nginx_argv,
                           run_wrk, tree_cpu_seconds)

SERVERS = ('nginx', 'pipyx-gzip', 'pipyx-br')
ACCEPT = {'nginx': 'gzip', 'pipyx-gzip': 'gzip', 'pipyx-br': 'br'}
SCRIPT = os.path.join(REPO, 'scripts', 'bench_cases', 'compress.py')
DOCUMENT_SIZE = 16 * 1024


def document():
    """16 KiB of JSON like an API's list answer: repetitive keys, varied values."""
    items, size = [], 2
    i = 0
    while True:
        item = {'id': i, 'name': 'item-%d' % (i * 7919 % 10007), 'price': round(i * 1.37 % 97, 2),
                'tags': ['t%d' % (i % 13), 't%d' % (i % 7)], 'active': i % 3 != 0}
        text = json.dumps(item)
        if size + len(text) + 2 > DOCUMENT_SIZE:
            break
        items.append(text)
        size += len(text) + 2
        i += 1
    body = ('[' + ', '.join(items) + ']').encode()
    return body + b' ' * (DOCUMENT_SIZE - len(body))


def fetch(port, accept):
    """(headers, body) of one GET / with the Accept-Encoding wrk sends."""
    with socket.create_connection(('127.0.0.1', port), timeout=5) as s:
        s.sendall(b'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: %s\r\nConnection: close\r\n\r\n'
                  % accept.encode())
        raw = b''
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            raw += chunk
    head, _, body = raw.partition(b'\r\n\r\n')
    headers = {}
    for line in head.decode('latin-1').split('\r\n')[1:]:
        k, _, v = line.partition(':')
        headers[k.strip().lower()] = v.strip()
    if headers.get('transfer-encoding') == 'chunked':
        out = b''
        while True:
            size_line, _, body = body.partition(b'\r\n')
            n = int(size_line, 16)
            if n == 0:
                break
            out, body = out + body[:n], body[n + 2:]
        body = out
    return headers, body


def check(name, port, doc):
    """None if the server answers as the case expects, else what is wrong. Also the compressed size."""
    headers, body = fetch(port, ACCEPT[name])
    coding = headers.get('content-encoding')
    if coding != ACCEPT[name]:
        return 'Content-Encoding %r, expected %r' % (coding, ACCEPT[name]), None
    try:
        if coding == 'gzip':
            plain = gzip.decompress(body)
        else:
            import brotli
            plain = brotli.decompress(body)
    except Exception as e:
        return 'the body does not decode: %s' % e, None
    return (None if plain == doc else 'the body decodes to %d other bytes' % len(plain)), len(body)


def run_compress(args, workdir, pipyx_cmd, pin):
    """Returns ({'rounds': {server: [results]}, 'sizes': {server: bytes}}, failures)."""
    os.makedirs(workdir, exist_ok=True)
    doc = document()
    root = os.path.join(workdir, 'root')
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, 'data.json'), 'wb') as f:
        f.write(doc)
    failures, servers, results, sizes = [], [], {}, {}
    oport = free_port()
    origin = Server('origin', oport, nginx_argv(workdir, 'nginx-origin', 'nginx_json_origin.conf', oport,
                                                extra={'@ROOT@': root}), {}, LOAD_CORE, workdir, pin)
    try:
        try:
            origin.wait_ready(args.start_timeout)
        except StartError as e:
            return {'rounds': {}, 'sizes': {}}, ['origin (nginx): %s' % e]
        for name in SERVERS:
            port = free_port()
            if name == 'nginx':
                argv, env = nginx_argv(workdir, 'nginx-compress', 'nginx_compress.conf', port, oport), {}
            else:
                argv = pipyx_cmd + [SCRIPT]
                env = {'PORT': str(port), 'TARGET': '127.0.0.1:%d' % oport, 'METHOD': ACCEPT[name], 'LEVEL': '1'}
            try:
                server = Server(name, port, argv, env, SERVER_CORE, workdir, pin)
                servers.append(server)
                server.wait_ready(args.start_timeout)
                wrong, sizes[name] = check(name, port, doc)
                if wrong:
                    raise StartError('%s answers otherwise than the case expects: %s' % (name, wrong))
                if args.warmup > 0:
                    run_wrk(port, args.warmup, args.connections, pin, headers=['Accept-Encoding: ' + ACCEPT[name]])
                print('  %-10s up on port %d (pid %d): %d bytes compressed' % (name, port, server.pid, sizes[name]),
                      flush=True)
            except (StartError, RuntimeError) as e:
                failures.append(str(e))
                print('  ! %s' % e, file=sys.stderr)
                if servers and servers[-1].name == name:
                    servers.pop().stop()
                continue
            results[name] = []
        for rnd in range(1, args.rounds + 1):
            for server in list(servers):
                u0, s0 = tree_cpu_seconds(server.pid)
                try:
                    r = run_wrk(server.port, args.duration, args.connections, pin,
                                headers=['Accept-Encoding: ' + ACCEPT[server.name]])
                except RuntimeError as e:
                    failures.append('%s failed in round %d: %s\n%s' % (server.name, rnd, e, server.log_tail()))
                    servers.remove(server)
                    server.stop()
                    continue
                u1, s1 = tree_cpu_seconds(server.pid)
                r['cpu_us_per_req'] = ((u1 - u0) + (s1 - s0)) * 1e6 / max(r['requests'], 1)
                results[server.name].append(r)
                print('  round %d %-10s %10.0f req/s  p50 %s  p99 %s  cpu %.2f us/req' % (
                    rnd, server.name, r['rps'], fmt_us(r['p50_us']), fmt_us(r['p99_us']), r['cpu_us_per_req']),
                    flush=True)
    finally:
        for server in reversed(servers + [origin]):
            server.stop()
    return {'rounds': results, 'sizes': sizes}, failures


def summarize_compress(case, target):
    med, checks = {}, []
    for name, rounds in case['rounds'].items():
        if rounds:
            med[name] = {k: statistics.median(r[k] for r in rounds) for k in ('rps', 'p50_us', 'p99_us',
                                                                                'cpu_us_per_req')}
    for name in ('pipyx-gzip', 'pipyx-br'):
        if name in med and 'nginx' in med:
            ratio = statistics.median(a['rps'] / b['rps'] for a, b in zip(case['rounds'][name],
                                                                          case['rounds']['nginx']))
            checks.append({'server': name, 'ratio': ratio, 'target': target, 'pass': ratio >= target,
                           'cpu_ratio': med[name]['cpu_us_per_req'] / med['nginx']['cpu_us_per_req']})
        else:
            checks.append({'server': name, 'ratio': None, 'target': target, 'pass': None})
    return med, checks


def print_compress_table(case, med, checks, args):
    print('\n== compress: a 16 KiB JSON response through a compressing proxy, median of %d round(s) x %ds, '
          'wrk -t1 -c%d' % (args.rounds, args.duration, args.connections))
    print('%-10s %12s %10s %10s %13s %10s' % ('server', 'req/s', 'p50', 'p99', 'CPU us/req', 'bytes'))
    for name in SERVERS:
        m = med.get(name)
        if m:
            print('%-10s %12.0f %10s %10s %13.2f %10s' % (name, m['rps'], fmt_us(m['p50_us']), fmt_us(m['p99_us']),
                                                          m['cpu_us_per_req'], case['sizes'].get(name, '-')))
        else:
            print('%-10s %12s' % (name, 'FAILED'))
    for c in checks:
        vs = 'nginx gzip' + (' (nginx has no brotli here)' if c['server'] == 'pipyx-br' else '')
        if c['ratio'] is None:
            print('%s / %s req/s    n/a    (target >= %.2fx) not measured' % (c['server'], vs, c['target']))
        else:
            print('%s / %s req/s %6.2fx  (target >= %.2fx) %s   CPU/req %.2fx' % (
                c['server'], vs, c['ratio'], c['target'], 'PASS' if c['pass'] else 'MISS', c['cpu_ratio']))


def missing_tools():
    return [t for t in ('wrk', 'nginx') if not shutil.which(t)]
