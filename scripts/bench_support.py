"""What every scripts/bench case uses: pinned server processes and their readiness probes, nginx configs from the
templates in scripts/bench_cases, wrk runs, and what a process tree costs from /proc (CPU seconds, resident memory)."""
import os, re, resource, shlex, socket, subprocess, time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES_DIR = os.path.join(REPO, 'scripts', 'bench_cases')
LOAD_CORE, SERVER_CORE = 0, 1


class StartError(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def fmt_us(us):
    return '%.0fus' % us if us < 1000 else '%.2fms' % (us / 1000)


# ---------------------------------------------------------------- process control

def nofile_at_least(n):
    """A preexec_fn letting the child open n files: the soft limit raised to n, and the hard limit too when we are
    privileged. Many device connections need more than the usual 1024."""
    def preexec():
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft >= n:
            return
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (n, max(hard, n)))
        except (ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))
    return preexec


def nofile_reachable(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return hard == resource.RLIM_INFINITY or hard >= n or os.geteuid() == 0


class Server:
    """A process we started (pinned to a core), its log, and a readiness probe.

    nofile: the open files it must be allowed. extra_logs: log files the process writes itself, shown with its
    output when it fails."""

    def __init__(self, name, port, argv, env, core, workdir, pin, nofile=None, extra_logs=()):
        self.name, self.port = name, port
        self.log_path = os.path.join(workdir, name + '.log')
        self.extra_logs = list(extra_logs)
        self.log = open(self.log_path, 'wb')
        full = (['taskset', '-c', str(core)] if pin else []) + argv
        try:
            # Own session: a Ctrl-C on the terminal reaches only us; we stop the servers ourselves, by pid.
            self.proc = subprocess.Popen(full, cwd=REPO, env=dict(os.environ, **env), stdin=subprocess.DEVNULL,
                                         stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
                                         preexec_fn=nofile_at_least(nofile) if nofile else None)
        except (OSError, subprocess.SubprocessError) as e:
            self.log.close()
            raise StartError('%s: cannot run %s: %s' % (name, shlex.join(full), e))
        self.pid = self.proc.pid  # taskset execs the command: same pid

    def wait_ready(self, timeout, probe=None):
        """Waits until probe(port) returns None (default: an HTTP GET / answered 200); probe returns what it saw
        otherwise."""
        probe = probe or http_ready
        deadline, last = time.monotonic() + timeout, 'no answer'
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StartError('%s exited with status %s\n%s' % (self.name, self.proc.returncode, self.log_tail()))
            last = probe(self.port)
            if last is None:
                return
            time.sleep(0.1)
        raise StartError('%s was not ready on port %d within %ss (%s)\n%s'
                         % (self.name, self.port, timeout, last, self.log_tail()))

    def log_tail(self, lines=15):
        self.log.flush()
        tail = []
        for path in [self.log_path] + self.extra_logs:
            try:
                with open(path, 'rb') as f:
                    tail += f.read().decode(errors='replace').splitlines()[-lines:]
            except OSError:
                pass
        return '\n'.join('    | ' + line for line in tail) or '    | (no output)'

    def stop(self, timeout=5):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def http_probe(port):
    """Status code of one GET / on the port, or None if nothing answers."""
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=1) as s:
            s.sendall(b'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')
            head = b''
            while b'\r\n' not in head:
                chunk = s.recv(4096)
                if not chunk:
                    break
                head += chunk
        m = re.match(rb'HTTP/1\.[01] (\d{3})', head)
        return int(m.group(1)) if m else None
    except OSError:
        return None


def http_ready(port):
    status = http_probe(port)
    return None if status == 200 else 'no answer' if status is None else 'HTTP status %s' % status


def https_ready(port):
    """An HTTPS GET / answered 200 (the certificate is not checked: the bench makes its own)."""
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=1) as raw, \
                ctx.wrap_socket(raw, server_hostname='localhost') as s:
            s.sendall(b'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
            line = s.recv(64).split(b' ', 2)
            return None if len(line) > 1 and line[1] == b'200' else 'HTTPS answer %r' % line
    except (OSError, ValueError) as e:
        return 'no answer (%s)' % e


def tcp_ready(port):
    try:
        socket.create_connection(('127.0.0.1', port), timeout=1).close()
        return None
    except OSError as e:
        return 'no answer (%s)' % (e.strerror or e)


# ---------------------------------------------------------------- nginx and wrk

def nginx_argv(workdir, name, template, port, backend=None, extra=None):
    """Write an nginx config from a template into its own prefix dir; return the command line. Placeholders:
    @USER@ @PREFIX@ @PORT@ @BACKEND@, and those of extra ({'@ROOT@': path, ...})."""
    prefix = os.path.join(workdir, name)
    os.makedirs(prefix, exist_ok=True)
    with open(os.path.join(CASES_DIR, template)) as f:
        conf = f.read()
    subst = {'@USER@': 'user root;' if os.geteuid() == 0 else '', '@PREFIX@': prefix,
             '@PORT@': str(port), '@BACKEND@': str(backend)}
    subst.update(extra or {})
    for key, value in subst.items():
        conf = conf.replace(key, value)
    path = os.path.join(prefix, 'nginx.conf')
    with open(path, 'w') as f:
        f.write(conf)
    return ['nginx', '-p', prefix + '/', '-c', path, '-e', os.path.join(prefix, 'error.log'), '-g', 'daemon off;']


UNITS_US = {'us': 1.0, 'ms': 1e3, 's': 1e6, 'm': 60e6, 'h': 3600e6}


def to_us(text):
    m = re.fullmatch(r'([\d.]+)(us|ms|s|m|h)', text)
    if not m:
        raise ValueError('bad wrk time %r' % text)
    return float(m.group(1)) * UNITS_US[m.group(2)]


def run_wrk(port, duration, connections, pin, path='/', headers=(), timeout=None, scheme='http'):
    """One wrk run (1 thread, keep-alive, --latency) on core LOAD_CORE when pin; headers are 'Name: value' strings.
    Besides wrk's figures, the result has load_cpu_pct, the CPU wrk used in % of one core (near 100: wrk, not the
    server, set the pace), and load_wait_pct, the share of the run wrk spent runnable but waiting for its core
    (other processes on it), when /proc tells."""
    argv = (['taskset', '-c', str(LOAD_CORE)] if pin else []) + [
        'wrk', '-t1', '-c%d' % connections, '-d%ds' % duration, '--latency'] + (
        ['--timeout', '%ds' % timeout] if timeout else [])
    for header in headers:
        argv += ['-H', header]
    argv.append('%s://127.0.0.1:%d%s' % (scheme, port, path))
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        # Sample wrk's run-queue wait inside its run (taskset execs wrk: same pid); wrk's output is a few lines, so
        # the pipes cannot fill meanwhile.
        start = time.monotonic()
        time.sleep(min(0.2, duration / 4))
        t0, wait0 = time.monotonic(), run_queue_wait_seconds(proc.pid)
        time.sleep(max(0.0, start + duration - 0.2 - time.monotonic()))
        t1, wait1 = time.monotonic(), run_queue_wait_seconds(proc.pid)
        out, err = proc.communicate(timeout=duration + 60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    # The only child reaped meanwhile is wrk (the servers run on), so the children's CPU grew by wrk's alone.
    children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError('wrk failed (%d): %s' % (proc.returncode, err.strip() or out.strip()))
    result = parse_wrk(out)
    result['load_cpu_pct'] = (children1.ru_utime - children0.ru_utime + children1.ru_stime - children0.ru_stime) \
        * 100 / duration
    if wait0 is not None and wait1 is not None and t1 > t0:
        result['load_wait_pct'] = (wait1 - wait0) * 100 / (t1 - t0)
    return result


def parse_wrk(text):
    def find(pattern):
        m = re.search(pattern, text, re.M)
        if not m:
            raise RuntimeError('cannot parse wrk output (%s):\n%s' % (pattern, text))
        return m.group(1)
    socket_errors = re.search(r'Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)', text)
    non2xx = re.search(r'Non-2xx or 3xx responses: (\d+)', text)
    return {
        'rps': float(find(r'^Requests/sec:\s+([\d.]+)')),
        'requests': int(find(r'^\s*(\d+) requests in')),
        'p50_us': to_us(find(r'^\s+50%\s+(\S+)')),
        'p99_us': to_us(find(r'^\s+99%\s+(\S+)')),
        'errors': (sum(map(int, socket_errors.groups())) if socket_errors else 0)
                  + (int(non2xx.group(1)) if non2xx else 0),
    }


# ---------------------------------------------------------------- CPU and memory from /proc

CLK_TCK = os.sysconf('SC_CLK_TCK')
PAGE_KIB = os.sysconf('SC_PAGE_SIZE') // 1024


def proc_stat(pid):
    """(ppid, utime ticks, stime ticks, rss pages) of a process, or None if it is gone."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            rest = f.read().rsplit(')', 1)[1].split()  # comm may hold spaces and parens
    except (OSError, IndexError):
        return None
    return int(rest[1]), int(rest[11]), int(rest[12]), int(rest[21])  # fields 4, 14, 15, 24 (ppid, utime, stime, rss)


def _all_stats():
    stats = {}
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            st = proc_stat(int(entry))
            if st:
                stats[int(entry)] = st
    return stats


def _tree(stats, root):
    """The pids of a process and all its descendants (e.g. nginx master + worker, pipyx + its workers)."""
    todo, seen = [root], []
    while todo:
        pid = todo.pop()
        if pid in seen or pid not in stats:
            continue
        seen.append(pid)
        todo.extend(p for p, st in stats.items() if st[0] == pid)
    return seen


def trees_cpu_seconds(roots):
    """{root: (user, system) CPU seconds of it and its descendants}, all read in one pass over /proc. The split
    matters: the kernel's share (socket reads and writes) is the same for every server; user time is what a
    server's own code costs."""
    stats = _all_stats()
    out = {}
    for root in roots:
        pids = _tree(stats, root)
        out[root] = (sum(stats[p][1] for p in pids) / CLK_TCK, sum(stats[p][2] for p in pids) / CLK_TCK)
    return out


def tree_cpu_seconds(root):
    """(user, system) CPU seconds of a process and all its descendants."""
    return trees_cpu_seconds([root])[root]


def cores_busy_seconds():
    """{core: seconds it has not been idle} from /proc/stat. Less what our own processes pinned to a core used, it
    tells how much other work disturbed a measurement. Interrupt time counts as busy: the kernel charges it to the
    process it interrupted, so it is in the processes' figures too."""
    busy = {}
    with open('/proc/stat') as f:
        for line in f:
            name, *ticks = line.split()
            if name.startswith('cpu') and name[3:].isdigit():
                user, nice, system, idle, iowait, irq, softirq = (int(t) for t in ticks[:7])
                busy[int(name[3:])] = (user + nice + system + irq + softirq) / CLK_TCK
    return busy


def run_queue_wait_seconds(pid):
    """How long a process's threads have been runnable but waiting for a core (/proc/PID/schedstat), or None."""
    total, found = 0, False
    try:
        for task in os.listdir('/proc/%d/task' % pid):
            with open('/proc/%d/task/%s/schedstat' % (pid, task)) as f:
                total += int(f.read().split()[1])
                found = True
    except (OSError, IndexError, ValueError):
        pass
    return total / 1e9 if found else None


def trees_rss_kib(roots):
    """{root: resident memory in KiB of it and its descendants}."""
    stats = _all_stats()
    return {root: sum(stats[p][3] for p in _tree(stats, root)) * PAGE_KIB for root in roots}
