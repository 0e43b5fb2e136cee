"""The mqtt case of scripts/bench: MQTT devices publishing to mosquitto, straight or through pipyx.

Modes, interleaved round by round against one mosquitto:
    direct     load generator -> mosquitto
    muxer      load generator -> edge -> (at most --tunnels connections) -> cloud -> mosquitto
    tcp-proxy  load generator -> one pipyx listen().connect() -> mosquitto: what a plain TCP hop costs, for reference

The muxer runs samples/mqtt-muxer/edge.py and cloud.py when both exist; until then, TCP stand-ins written into the
temp dir (edge: listen(LISTEN).connect(CLOUD); cloud: listen(LISTEN).connect(BROKER)), which carry one connection
per device and no tunnels. The output says which ran.

The load generator is scripts/mqtt_load.c, compiled into the temp dir: --devices connections, each a closed loop
of QoS 1 PUBLISH -> PUBACK (--inflight publishes outstanding), every publish->PUBACK latency recorded after the
warm-up. Each round connects the devices afresh, warms up, then measures; the servers' CPU is read from /proc at
the edges of the measured window, so CPU per message leaves out connecting and warming up. In a closed loop the
latency is mostly queueing (with N devices waiting on their PUBACKs, p50 is about N / msg/s): compare latencies
between modes of one run, at one --devices.

Pinning (--mqtt-layout). The machine has two cores and the deployment has two sites: the devices with their edge,
and the broker with the cloud end next to it.
    sites   (default) the load generator and the edge on core 0, mosquitto and the cloud on core 1: each side of the
            tunnel on its own core, as edge and cloud run on machines of their own. In direct mode core 1 is
            mosquitto's alone and core 0 the load generator's, as before.
    shared  the load generator alone on core 0; mosquitto, edge and cloud all on core 1 (as the HTTP cases pin their
            server): the muxer path gets the one core that mosquitto alone has in direct mode, so the ratio says how
            many messages the whole path carries per core-second of the broker.
The load generator keeps --inflight publishes outstanding per device (default 10; paho's default limit is 20). With
1 in flight (stop and wait), every message is its own read and write at every hop: the edge and the cloud then make
the same two socket calls per message as mosquitto does, and the muxer path costs about three brokers' worth of
system time per message in either layout (the figures and the reasoning are in the project's notes).

Memory, per mode on freshly started processes: a few devices publish briefly (so that one-time costs such as
imports and tunnels are not charged to devices), then RSS is read; --devices devices connect and stay idle, RSS is
read again after a second; the difference divided by the devices connected is the memory per device.
"""
import json, os, selectors, shutil, signal, socket, statistics, subprocess, sys, time

from bench_support import (REPO, LOAD_CORE, SERVER_CORE, Server, StartError, free_port, fmt_us, tcp_ready,
                           nofile_at_least, nofile_reachable, trees_cpu_seconds, trees_rss_kib, cores_busy_seconds,
                           run_queue_wait_seconds)

MODES = ('direct', 'muxer', 'tcp-proxy')
PROCESSES = ('mosquitto', 'edge', 'cloud', 'tcp-proxy')     # table columns, in path order
MEMORY_OF = {'direct': ('mosquitto',), 'muxer': ('edge', 'cloud'), 'tcp-proxy': ('tcp-proxy',)}
SAMPLE_DIR = os.path.join(REPO, 'samples', 'mqtt-muxer')
LOAD_SOURCE = os.path.join(REPO, 'scripts', 'mqtt_load.c')
TCP_PROXY_SCRIPT = os.path.join(REPO, 'scripts', 'bench_cases', 'tcp_proxy.py')
CONNECT_TIMEOUT = 30        # the load generator's longest connect phase
# A round is disturbed when other processes use more than this share of the servers' core, or keep the load generator
# waiting for its core longer than this share of the time.
DISTURBED_PCT = 10
PRIMING_DEVICES = 10


def mosquitto_binary():
    found = shutil.which('mosquitto')
    return found or ('/usr/sbin/mosquitto' if os.access('/usr/sbin/mosquitto', os.X_OK) else None)


def missing_tools():
    """What the case needs and this machine lacks, as Debian package names."""
    missing = [] if mosquitto_binary() else ['mosquitto']
    return missing + ([] if shutil.which('gcc') or shutil.which('cc') else ['gcc'])


def mqtt_ready(port):
    """None once an MQTT CONNECT on the port is answered by a CONNACK that accepts it, else what came back."""
    client_id = b'bench-probe-%d' % os.getpid()
    body = b'\x00\x04MQTT\x04\x02\x00\x3c' + len(client_id).to_bytes(2, 'big') + client_id
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=2) as s:
            s.sendall(bytes([0x10, len(body)]) + body)
            reply = b''
            while len(reply) < 4:
                chunk = s.recv(4 - len(reply))
                if not chunk:
                    break
                reply += chunk
            if reply == b'\x20\x02\x00\x00':
                s.sendall(b'\xe0\x00')
                return None
            return 'no CONNACK (got %r)' % reply
    except OSError as e:
        return 'no CONNACK (%s)' % (e.strerror or e)


# ---------------------------------------------------------------- the load generator

class LoadGenerator:
    """scripts/mqtt_load.c compiled into the temp dir; each run() is one pinned process of it."""

    def __init__(self, workdir, pin, devices):
        self.path = os.path.join(workdir, 'mqtt_load')
        self.err_path = os.path.join(workdir, 'mqtt_load.err')
        self.pin, self.nofile = pin, devices + 64
        cc = shutil.which('gcc') or 'cc'
        out = subprocess.run([cc, '-O2', '-o', self.path, LOAD_SOURCE], capture_output=True, text=True)
        if out.returncode != 0:
            raise StartError('cannot compile %s:\n%s' % (LOAD_SOURCE, out.stderr.strip()))

    def run(self, port, *options):
        argv = (['taskset', '-c', str(LOAD_CORE)] if self.pin else []) + [
            self.path, '--port', str(port)] + [str(o) for o in options]
        return LoadRun(argv, self.err_path, self.nofile)


class LoadRun:
    """One run of the load generator: its JSON lines as events; leaving a `with` block stops it if it still runs
    (it has its own session, so a Ctrl-C on the terminal does not reach it)."""

    def __init__(self, argv, err_path, nofile):
        with open(err_path, 'ab') as err:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
                                         start_new_session=True, preexec_fn=nofile_at_least(nofile))
        self.pid, self.err_path = self.proc.pid, err_path

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()

    def events(self, timeout):
        """Yields each JSON line the load generator prints until it exits; stops it if it overruns timeout."""
        deadline, buf = time.monotonic() + timeout, b''
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.proc.kill()
                    self.proc.wait()
                    raise RuntimeError('the load generator ran past %ds' % timeout)
                if not sel.select(left):
                    continue
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                buf += chunk
                while b'\n' in buf:
                    line, buf = buf.split(b'\n', 1)
                    yield json.loads(line)
        if self.proc.wait() not in (0, 1):     # 1: it ran but counted errors, which the result reports
            raise RuntimeError('the load generator failed (status %d): %s' % (self.proc.returncode, self.err_tail()))

    def interrupt(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)

    def result(self, timeout):
        done = [e for e in self.events(timeout) if e.get('event') == 'done']
        if not done:
            raise RuntimeError('the load generator printed no result: %s' % self.err_tail())
        return done[-1]

    def err_tail(self):
        with open(self.err_path, 'rb') as f:
            return ' / '.join(f.read().decode(errors='replace').splitlines()[-3:]) or 'no message'


# ---------------------------------------------------------------- the processes of each mode

def write_mosquitto_conf(workdir, port):
    path = os.path.join(workdir, 'mosquitto.conf')
    with open(path, 'w') as f:
        f.write('listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nmax_connections -1\n'
                'log_dest file %s\n' % (port, os.path.join(workdir, 'mosquitto-broker.log')))
        if os.geteuid() == 0:
            f.write('user root\n')      # else it drops to user mosquitto, who cannot write the log in our temp dir
    return path


def muxer_scripts(workdir):
    """(edge script, cloud script, what they are): the samples when both exist, else TCP stand-ins."""
    edge, cloud = os.path.join(SAMPLE_DIR, 'edge.py'), os.path.join(SAMPLE_DIR, 'cloud.py')
    if os.path.exists(edge) and os.path.exists(cloud):
        return edge, cloud, 'samples/mqtt-muxer/edge.py and cloud.py'
    stand_ins = []
    for name, target in (('edge', 'CLOUD'), ('cloud', 'BROKER')):
        path = os.path.join(workdir, '%s-stand-in.py' % name)
        with open(path, 'w') as f:
            f.write("import os\nfrom pipyx import pipy\n"
                    "pipy().listen(os.environ['LISTEN']).connect(os.environ['%s'])\n" % target)
        stand_ins.append(path)
    return stand_ins[0], stand_ins[1], ('TCP stand-ins, one connection per device and no tunnels '
                                        '(samples/mqtt-muxer/edge.py and cloud.py not found)')


class Setup:
    """mosquitto, and each mode's pipyx processes, started once for the whole case."""

    def __init__(self, args, workdir, pipyx_cmd, pin):
        self.args, self.workdir, self.pipyx_cmd, self.pin = args, workdir, pipyx_cmd, pin
        self.nofile = 2 * args.devices + 1024
        self.servers = []
        self.mosquitto = self.muxer_kind = None

    def start(self, name, port, argv, env, probe, extra_logs=(), core=SERVER_CORE):
        server = Server(name, port, argv, env, core, self.workdir, self.pin, self.nofile, extra_logs)
        self.servers.append(server)
        server.wait_ready(self.args.start_timeout, probe)
        return server

    def start_mosquitto(self):
        port = free_port()
        conf = write_mosquitto_conf(self.workdir, port)
        self.mosquitto = self.start('mosquitto', port, [mosquitto_binary(), '-c', conf], {}, mqtt_ready,
                                    [os.path.join(self.workdir, 'mosquitto-broker.log')])
        return self.mosquitto

    def start_mode(self, mode):
        """(the port the devices connect to, {process name: Server} of everything on their path)."""
        broker = '127.0.0.1:%d' % self.mosquitto.port
        if mode == 'direct':
            return self.mosquitto.port, {'mosquitto': self.mosquitto}
        if mode == 'tcp-proxy':
            port = free_port()
            proxy = self.start('tcp-proxy', port, self.pipyx_cmd + [TCP_PROXY_SCRIPT],
                               {'LISTEN': '127.0.0.1:%d' % port, 'TARGET': broker}, mqtt_ready)
            return port, {'mosquitto': self.mosquitto, 'tcp-proxy': proxy}
        edge_script, cloud_script, self.muxer_kind = muxer_scripts(self.workdir)
        cloud_port, edge_port = free_port(), free_port()
        # The cloud's tunnel port speaks the muxer's own protocol: a TCP connect is all we may probe it with.
        cloud = self.start('cloud', cloud_port, self.pipyx_cmd + [cloud_script],
                           {'LISTEN': '127.0.0.1:%d' % cloud_port, 'BROKER': broker}, tcp_ready)
        edge = self.start('edge', edge_port, self.pipyx_cmd + [edge_script],
                          {'LISTEN': '127.0.0.1:%d' % edge_port, 'CLOUD': '127.0.0.1:%d' % cloud_port,
                           'TUNNELS': str(self.args.tunnels)}, mqtt_ready,
                          core=LOAD_CORE if getattr(self.args, 'mqtt_layout', 'shared') == 'sites' else SERVER_CORE)
        return edge_port, {'mosquitto': self.mosquitto, 'edge': edge, 'cloud': cloud}

    def stop(self):
        for server in reversed(self.servers):
            server.stop()


def established_to(port):
    """How many established TCP connections on this machine have their remote end on the port: for the muxer, the
    tunnels from edge to cloud."""
    count = 0
    for table in ('/proc/net/tcp', '/proc/net/tcp6'):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == '01' and int(fields[2].rsplit(':', 1)[1], 16) == port:     # 01: ESTABLISHED
                count += 1
    return count


def check_alive(members):
    for name, server in members.items():
        if server.proc.poll() is not None:
            raise RuntimeError('%s exited with status %s\n%s' % (name, server.proc.returncode, server.log_tail()))


# ---------------------------------------------------------------- measurements

def measure_memory(lg, port, members, counted, args):
    """KiB of RSS per connected, idle device of each counted process."""
    pids = {name: members[name].pid for name in counted}
    with lg.run(port, '--devices', min(PRIMING_DEVICES, args.devices), '--duration', 0.5, '--warmup', 0) as prime:
        prime.result(CONNECT_TIMEOUT + 30)
    time.sleep(0.5)
    before = trees_rss_kib(pids.values())
    with lg.run(port, '--devices', args.devices, '--hold', 120) as hold:
        events = hold.events(CONNECT_TIMEOUT + 150)
        connected = next((e for e in events if e.get('event') == 'connected'), None)
        time.sleep(1.0)
        after = trees_rss_kib(pids.values())
        tunnels = established_to(members['cloud'].port) if 'cloud' in members else None
        hold.interrupt()
        done = [e for e in events if e.get('event') == 'done']
    check_alive(members)
    n = connected['connected'] if connected else 0
    if not n:
        raise RuntimeError('no device connected (%s)' % hold.err_tail())
    return {'devices': n, 'errors': done[-1]['errors'] if done else None, 'edge_cloud_connections': tunnels,
            'rss_before_kib': {k: before[pid] for k, pid in pids.items()},
            'rss_after_kib': {k: after[pid] for k, pid in pids.items()},
            'kib_per_device': {k: (after[pid] - before[pid]) / n for k, pid in pids.items()}}


def measure_round(lg, port, members, args, rnd, pin):
    """One load generator run; the members' CPU is read when the measured window opens and when it closes."""
    roots = {name: s.pid for name, s in members.items()}
    marks, result = {}, None
    with lg.run(port, '--devices', args.devices, '--duration', args.duration, '--warmup', args.warmup,
                '--payload', args.payload, '--inflight', args.inflight, '--progress') as run:
        for event in run.events(CONNECT_TIMEOUT + args.warmup + args.duration + 30):
            if event.get('event') in ('measuring', 'measured'):
                marks[event['event']] = (time.monotonic(), trees_cpu_seconds(list(roots.values()) + [run.pid]),
                                         cores_busy_seconds(), run_queue_wait_seconds(run.pid))
            elif event.get('event') == 'done':
                result = event
    check_alive(members)
    if result is None or 'measured' not in marks or not result['acked']:
        raise RuntimeError('no message acknowledged: %s' % (json.dumps(result) if result else run.err_tail()))
    (t0, cpu0, cores0, wait0), (t1, cpu1, cores1, wait1) = marks['measuring'], marks['measured']
    acked = result['acked']
    r = {k: result[k] for k in ('msg_per_s', 'acked', 'p50_us', 'p99_us', 'p999_us', 'max_us', 'connected',
                                'errors')}
    r['round'] = rnd
    r['cpu_us_per_msg'] = {n: (sum(cpu1[pid]) - sum(cpu0[pid])) * 1e6 / acked for n, pid in roots.items()}
    r['user_us_per_msg'] = {n: (cpu1[pid][0] - cpu0[pid][0]) * 1e6 / acked for n, pid in roots.items()}
    r['load_cpu_pct'] = (sum(cpu1[run.pid]) - sum(cpu0[run.pid])) * 100 / (t1 - t0)
    # Was the run disturbed? Other processes on the servers' core take CPU from the servers. On the load generator's
    # core they do harm only when they keep it waiting (the scheduler moves them there when the servers' core is the
    # busier one, and the load generator leaves its core mostly idle).
    if pin:
        ours = sum(sum(cpu1[pid]) - sum(cpu0[pid]) for pid in roots.values())
        r['other_cpu_pct'] = max(0.0, (cores1[SERVER_CORE] - cores0[SERVER_CORE] - ours) * 100 / (t1 - t0))
    if wait0 is not None and wait1 is not None:
        r['load_wait_pct'] = (wait1 - wait0) * 100 / (t1 - t0)
    return r


def run_mqtt(args, workdir, pipyx_cmd, pin):
    """Start mosquitto and each mode's processes, measure their memory, run interleaved rounds.
    Returns (the case's report, failures)."""
    os.makedirs(workdir, exist_ok=True)
    rounds = {mode: [] for mode in args.mqtt_modes}
    memory, failures = {}, []
    report = {'rounds': rounds, 'memory': memory, 'failures': failures, 'muxer_scripts': None,
              'pinning': {'load generator': LOAD_CORE, 'servers': SERVER_CORE} if pin else None,
              'layout': getattr(args, 'mqtt_layout', 'shared')}
    if not nofile_reachable(2 * args.devices + 1024):
        print('  ! the open-file limit may be too low for %d devices (ulimit -Hn); connections may fail'
              % args.devices, file=sys.stderr)

    def fail(message):
        failures.append(message)
        print('  ! %s' % message, file=sys.stderr)

    setup = Setup(args, workdir, pipyx_cmd, pin)
    try:
        try:
            lg = LoadGenerator(workdir, pin, args.devices)
            mosquitto = setup.start_mosquitto()
        except StartError as e:
            fail(str(e))
            return report, failures
        print('  mosquitto up on port %d (pid %d)' % (mosquitto.port, mosquitto.pid), flush=True)
        active = {}
        for mode in args.mqtt_modes:
            try:
                port, members = setup.start_mode(mode)
                print('  %-9s devices connect to port %d: %s' % (mode, port, ', '.join(
                    '%s (pid %d)' % (n, s.pid) for n, s in members.items())), flush=True)
                if mode == 'muxer':
                    print('  muxer: %s' % setup.muxer_kind, flush=True)
                memory[mode] = m = measure_memory(lg, port, members, MEMORY_OF[mode], args)
                print('  memory %-9s %s KiB per idle device (%d devices)%s' % (mode, ' + '.join(
                    '%s %.1f' % kv for kv in m['kib_per_device'].items()), m['devices'],
                    '' if m['edge_cloud_connections'] is None else
                    ', %d edge-cloud connections' % m['edge_cloud_connections']), flush=True)
            except (StartError, RuntimeError, subprocess.TimeoutExpired) as e:
                fail('%s: %s' % (mode, e))
                continue
            finally:
                report['muxer_scripts'] = setup.muxer_kind
            active[mode] = (port, members)
        for rnd in range(1, args.rounds + 1):
            for mode, (port, members) in list(active.items()):
                try:
                    r = measure_round(lg, port, members, args, rnd, pin)
                except (RuntimeError, subprocess.TimeoutExpired) as e:    # e.g. a server died under load
                    fail('%s failed in round %d: %s' % (mode, rnd, e))
                    del active[mode]
                    continue
                rounds[mode].append(r)
                disturbance = ''.join(
                    ['  other load on core %d %.0f%%' % (SERVER_CORE, r['other_cpu_pct'])] * ('other_cpu_pct' in r)
                    + [', load generator waited %.0f%%' % r['load_wait_pct']] * ('load_wait_pct' in r))
                print('  round %d %-9s %9.0f msg/s  p50 %s  p99 %s  CPU us/msg %s  load generator %.0f%%%s%s' % (
                    rnd, mode, r['msg_per_s'], fmt_us(r['p50_us']), fmt_us(r['p99_us']),
                    ' '.join('%s %.1f' % kv for kv in r['cpu_us_per_msg'].items()), r['load_cpu_pct'], disturbance,
                    '  errors %d' % r['errors'] if r['errors'] else ''), flush=True)
    finally:
        setup.stop()
    return report, failures


# ---------------------------------------------------------------- report

def summarize_mqtt(report, targets, kib_target):
    med = {}
    for mode, rounds in report['rounds'].items():
        if not rounds:
            continue
        m = med[mode] = {k: statistics.median(r[k] for r in rounds)
                         for k in ('msg_per_s', 'p50_us', 'p99_us', 'p999_us', 'load_cpu_pct')}
        for key in ('cpu_us_per_msg', 'user_us_per_msg'):
            m[key] = {n: statistics.median(r[key][n] for r in rounds) for n in rounds[0][key]}
        m['cpu_us_per_msg_total'] = sum(m['cpu_us_per_msg'].values())
        for key in ('other_cpu_pct', 'load_wait_pct'):
            if all(key in r for r in rounds):
                m[key + '_max'] = max(r[key] for r in rounds)
        m['errors'] = sum(r['errors'] for r in rounds)
    checks = []
    for mode in ('muxer', 'tcp-proxy'):
        if mode not in report['rounds']:
            continue
        target = targets.get(mode)
        c = {'mode': mode, 'vs': 'direct', 'target': target, 'ratio': None, 'pass': None}
        if mode in med and 'direct' in med:
            # The median of the per-round ratios: modes run back to back in each round, under one state of the
            # machine.
            direct = {r['round']: r for r in report['rounds']['direct']}
            ratios = [r['msg_per_s'] / direct[r['round']]['msg_per_s'] for r in report['rounds'][mode]
                      if r['round'] in direct]
            c['ratio'] = statistics.median(ratios)
            c['cpu_ratio'] = med[mode]['cpu_us_per_msg_total'] / med['direct']['cpu_us_per_msg_total']
            c['pass'] = c['ratio'] >= target if target else None
        checks.append(c)
    memory = report['memory'].get('muxer')
    if 'muxer' in report['rounds']:
        kib = sum(memory['kib_per_device'].values()) if memory else None
        checks.append({'mode': 'muxer', 'memory_kib_per_device': kib, 'target_kib': kib_target,
                       'pass': kib < kib_target if kib is not None else None})
    return med, checks


def print_mqtt_table(report, med, checks, args):
    print('\n== mqtt: median of %d round(s) x %gs (+%gs warm-up), %d devices, QoS 1 closed loop, %d-byte payload, '
          '%d in flight per device' % (args.rounds, args.duration, args.warmup, args.devices, args.payload,
                                       args.inflight))
    if report['pinning'] and report.get('layout') == 'sites':
        print('   load generator and edge on core %d (the devices\' site); mosquitto and cloud on core %d (the '
              'broker\'s site)' % (LOAD_CORE, SERVER_CORE))
    elif report['pinning']:
        print('   load generator on core %d; mosquitto and pipyx on core %d' % (LOAD_CORE, SERVER_CORE))
    columns = [p for p in PROCESSES if any(p in m['cpu_us_per_msg'] for m in med.values())]
    print('%-10s %9s %9s %9s %9s   CPU us/msg: %s %7s %9s %7s' % (
        'mode', 'msg/s', 'p50', 'p99', 'p99.9', ' '.join('%9s' % c for c in columns), 'total', 'load gen', 'errors'))
    for mode in args.mqtt_modes:
        m = med.get(mode)
        if not m:
            print('%-10s %9s' % (mode, 'FAILED'))
            continue
        cpu = ' '.join('%9.2f' % m['cpu_us_per_msg'][c] if c in m['cpu_us_per_msg'] else '%9s' % '-'
                       for c in columns)
        print('%-10s %9.0f %9s %9s %9s               %s %7.2f %8.0f%% %7d' % (
            mode, m['msg_per_s'], fmt_us(m['p50_us']), fmt_us(m['p99_us']), fmt_us(m['p999_us']), cpu,
            m['cpu_us_per_msg_total'], m['load_cpu_pct'], m['errors']))
    for c in checks:
        if 'memory_kib_per_device' in c:
            continue
        if c['ratio'] is None:
            print('%s/direct msg/s    n/a    not measured' % c['mode'])
        elif c['target']:
            print('%s/direct msg/s %6.2fx  (target >= %.2fx) %s   CPU/msg %.2fx' % (
                c['mode'], c['ratio'], c['target'], 'PASS' if c['pass'] else 'MISS', c['cpu_ratio']))
        else:
            print('%s/direct msg/s %6.2fx  (reference)   CPU/msg %.2fx' % (c['mode'], c['ratio'], c['cpu_ratio']))
    if report['memory']:
        print('memory per idle device (RSS with the devices connected minus before them):')
    for mode in args.mqtt_modes:
        m = report['memory'].get(mode)
        if not m:
            continue
        parts = ' + '.join('%s %.1f' % kv for kv in m['kib_per_device'].items())
        line = '  %-9s %s' % (mode, parts)
        if len(m['kib_per_device']) > 1:
            line += ' = %.1f' % sum(m['kib_per_device'].values())
        line += ' KiB (%d devices%s)' % (m['devices'], '' if m['edge_cloud_connections'] is None else
                                        ' over %d edge-cloud connections' % m['edge_cloud_connections'])
        for c in checks:
            if c['mode'] == mode and 'memory_kib_per_device' in c:
                line += '  (target < %g KiB) %s' % (c['target_kib'], 'PASS' if c['pass'] else 'MISS')
        print(line)
    if report['muxer_scripts']:
        print('muxer: %s' % report['muxer_scripts'])
    other = max([m['other_cpu_pct_max'] for m in med.values() if 'other_cpu_pct_max' in m] or [0])
    wait = max([m['load_wait_pct_max'] for m in med.values() if 'load_wait_pct_max' in m] or [0])
    disturbed = ['other processes used up to %.0f%% of the servers\' core' % other] * (other > DISTURBED_PCT) + [
        'the load generator waited for its core up to %.0f%% of the time' % wait] * (wait > DISTURBED_PCT)
    if disturbed:
        print('! disturbed: in some round %s; rerun on a quiet machine' % ' and '.join(disturbed))
