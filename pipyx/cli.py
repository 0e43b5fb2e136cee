"""The pipyx command."""
import argparse
import logging
import signal
import subprocess
import sys
import time

from .__version__ import VERSION
from .logs import LEVELS, setup_logging

USAGE_EXAMPLES = """examples:
  pipyx main.py                    run a script
  pipyx tutorial/01-hello          run a directory's main.py
  pipyx -e "pipy().listen(8080).serve_http(Message('hi'))"
  pipyx main.py --workers 2        two processes sharing each port
  pipyx main.py --verify           check that the script loads, then exit
  pipyx main.py --watch            reload whenever a file in the script's directory changes
  pipyx main.py -- a b             run a script with arguments: pipyx.argv is ['a', 'b']
  pipyx http://repo:6060/repo/my-app/
                                   run a codebase from a pipyx repo, switching to each new version
  pipyx http://a:6060/repo/my-app/,http://b:6060/repo/my-app/
                                   the same, failing over between repos

signals: SIGTERM/SIGINT finish requests in flight and exit; SIGHUP reloads the script."""


def parse_args(argv):
    p = argparse.ArgumentParser(prog='pipyx', description='A programmable, scriptable proxy engine.',
                                epilog=USAGE_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('script', nargs='?', help='the script to run, a directory holding main.py, or a repo URL '
                   '(http://HOST:PORT/repo/NAME/; several, comma-separated, for failover)')
    p.add_argument('-e', '--eval', dest='expression', metavar='CODE',
                   help="run CODE instead of a script file; pipyx's public names are in scope")
    p.add_argument('--workers', type=int, default=1, metavar='N',
                   help='worker processes sharing each port with SO_REUSEPORT (default 1)')
    p.add_argument('--log-level', default='info', choices=list(LEVELS),
                   help='how much to log (default info); debug adds tracebacks to errors')
    p.add_argument('--verify', action='store_true', help='load the script, report errors, and exit')
    p.add_argument('--drain-timeout', type=float, default=10.0, metavar='S',
                   help='on SIGTERM/SIGINT, how long requests in flight may take to finish (default 10)')
    p.add_argument('--watch', action='store_true',
                   help="reload when a file under the script's directory changes (checked every 0.5s)")
    repo = p.add_argument_group('running from a repo URL')
    repo.add_argument('--repo-cache', metavar='DIR',
                      help='where downloaded versions are kept (default ~/.cache/pipyx/HOST_PORT/NAME/)')
    repo.add_argument('--repo-token', metavar='T',
                      help='bearer token for the repo (default: the PIPYX_REPO_TOKEN environment variable)')
    repo.add_argument('--repo-ca', metavar='FILE',
                      help='trust the CA certificates in FILE (PEM) for an https:// repo, instead of the '
                           "system's default CA store")
    repo.add_argument('--poll-interval', type=float, metavar='S',
                      help='ask the repo for a new version every S seconds instead of long-polling')
    p.add_argument('--reuse-port', action='store_true', help=argparse.SUPPRESS)
    p.add_argument('--version', action='version', version='pipyx ' + VERSION)
    return p, p.parse_args(argv)


# The options of the repo server (pipyx with no script): with only these, pipyx runs it.
REPO_SERVER_VALUE_OPTIONS = {'--repo-dir', '--listen', '--repo-token', '--max-file-size', '--log-level',
                             '--drain-timeout', '--repo-store', '--repo-tls-cert', '--repo-tls-key', '--linger-time'}
REPO_SERVER_FLAGS = {'--allow-no-token'}


def is_repo_server(argv):
    i = 0
    while i < len(argv):
        name = argv[i].split('=', 1)[0]
        if name in REPO_SERVER_VALUE_OPTIONS:
            i += 1 if '=' in argv[i] else 2
        elif name in REPO_SERVER_FLAGS:
            i += 1
        else:
            return False
    return True


def split_script_args(argv):
    """(pipyx's own arguments, the script's): the script's are the words after the first `--`."""
    if '--' in argv:
        i = argv.index('--')
        return argv[:i], argv[i + 1:]
    return argv, []


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    argv, script_args = split_script_args(argv)
    from . import runtime
    runtime.argv[:] = script_args
    if is_repo_server(argv) and not script_args:
        from .repo.server import main as repo_main
        code = repo_main(argv)
        if code == 2:
            print('pipyx: with no script, pipyx runs the repo server (see docs/repo-api.md); to run a script: '
                  'pipyx SCRIPT, or pipyx --help', file=sys.stderr)
        return code
    parser, args = parse_args(argv)
    setup_logging(args.log_level)
    log = logging.getLogger('pipyx')
    if args.script is None and args.expression is None:
        parser.print_usage(sys.stderr)
        print('pipyx: give a script to run, or -e CODE', file=sys.stderr)
        return 2
    from .remote import is_repo_url
    if is_repo_url(args.script):
        return run_remote(args)
    if args.watch and args.script is None:
        print('pipyx: --watch needs a script file or directory, not -e', file=sys.stderr)
        return 2
    from .errors import ScriptError
    from .loader import load_program
    try:
        program = load_program(args.script, args.expression)
    except ScriptError as e:
        print('pipyx: error: %s' % e, file=sys.stderr)
        if args.log_level == 'debug' and e.__cause__ is not None:
            import traceback
            traceback.print_exception(type(e.__cause__), e.__cause__, e.__cause__.__traceback__)
        return 1
    if args.verify:
        print('pipyx: %s: OK (%d listener%s)' % (program.entry, len(program.listens),
                                                 '' if len(program.listens) == 1 else 's'))
        return 0
    if args.workers > 1:
        return run_workers(args, log, program)
    from .worker import Worker
    import uvloop

    def load():
        return load_program(args.script, args.expression)

    worker = Worker(load, args.reuse_port, args.drain_timeout)
    background = ()
    if args.watch:
        from .watch import watched_dir, watcher
        background = (watcher(watched_dir(args.script)),)
    try:
        uvloop.run(worker.run(program, background))
    except OSError as e:
        print('pipyx: error: %s' % e, file=sys.stderr)
        return 1
    return worker.exit_code


def run_remote(args):
    """pipyx URL: serve the latest version of a codebase from the repo and follow its new versions."""
    import os
    from .repo.server import configured_token
    # The server's rule: a blank token is no token, and white space around one is not part of it. Sent as it was
    # given, a blank one would be a wrong token, and a trailing newline would break the header.
    token, blank = configured_token(args.repo_token, os.environ)
    if blank:
        logging.getLogger('pipyx').warning('%s is blank, which is no token: none is sent to the repo', blank)
    # Workers get the token this way, not on their command line, and as read here.
    if token:
        os.environ['PIPYX_REPO_TOKEN'] = token
    else:
        os.environ.pop('PIPYX_REPO_TOKEN', None)
    from . import remote
    try:
        remote.Repo(args.script, ca_file=args.repo_ca)   # a malformed URL or CA file is reported here, not by
                                                         # workers restarted in a loop
        if args.workers > 1:
            return run_workers(args, logging.getLogger('pipyx'))
        app = remote.RemoteApp(args.script, args.repo_cache, token, args.poll_interval, args.repo_ca)
    except (ValueError, OSError) as e:
        print('pipyx: error: %s' % e, file=sys.stderr)
        return 2
    from .loader import load_program
    from .worker import Worker
    import uvloop
    if args.verify:
        return uvloop.run(verify_remote(app))

    workers = []

    def make_worker(entry):
        workers.append(Worker(lambda: load_program(entry), args.reuse_port, args.drain_timeout))
        return workers[-1]
    try:
        uvloop.run(remote.run(app, make_worker))
    except OSError as e:
        print('pipyx: error: %s' % e, file=sys.stderr)
        return 1
    return workers[-1].exit_code if workers else 0


async def verify_remote(app):
    from .errors import ScriptError
    from .remote import RepoError, NotFound
    app.repo.log_outages = False
    try:
        manifest = await app.repo.manifest()
        program = await app.fetch(manifest)
    except NotFound:
        print('pipyx: error: nothing published for %s' % app.repo.name, file=sys.stderr)
        return 1
    except (RepoError, ScriptError) as e:
        print('pipyx: error: %s' % e, file=sys.stderr)
        return 1
    print('pipyx: %s version %d: OK (%d listener%s)' % (app.repo.name, manifest['version'], len(program.listens),
                                                        '' if len(program.listens) == 1 else 's'))
    return 0


def run_workers(args, log, program=None):
    """The parent of --workers N: starts N worker processes on the same ports and passes signals on to them: the
    stop and reload signals, and those the script's task()s wait for. Each worker's PIPYX_WORKER_INDEX (0 to N-1) is
    pipyx.worker_index. Exits with the first non-zero status a worker stopped with (pipyx.exit(code)), else 0."""
    import os
    from . import runtime
    cmd = [sys.executable, '-m', 'pipyx', '--reuse-port', '--log-level', args.log_level,
           '--drain-timeout', str(args.drain_timeout)]
    if args.watch:
        cmd.append('--watch')
    if args.repo_cache:
        cmd += ['--repo-cache', args.repo_cache]
    if args.poll_interval is not None:
        cmd += ['--poll-interval', str(args.poll_interval)]
    if args.repo_ca:
        cmd += ['--repo-ca', args.repo_ca]
    cmd += ['-e', args.expression] if args.expression is not None else [args.script]
    if runtime.argv:
        cmd += ['--'] + runtime.argv
    children = []
    started = [time.monotonic()] * args.workers
    delay = [0.0] * args.workers           # back off a worker that keeps dying at start
    restart_at = [None] * args.workers
    stopping = []

    def forward(sig, _frame):
        if sig in (signal.SIGTERM, signal.SIGINT):
            stopping.append(sig)
        for c in children:
            if c.poll() is None:
                c.send_signal(sig)

    task_signals = {arg for (kind, arg), _ in (program.jobs if program is not None else ()) if kind == 'signal'}
    for sig in {signal.SIGTERM, signal.SIGINT, signal.SIGHUP} | task_signals:
        signal.signal(sig, forward)

    def start_worker(i):
        return subprocess.Popen(cmd, env=dict(os.environ, PIPYX_WORKER_INDEX=str(i),
                                              PIPYX_WORKERS_PARENT=str(os.getpid())))
    children.extend(start_worker(i) for i in range(args.workers))
    log.info('started %d workers: %s', len(children), ' '.join(str(c.pid) for c in children))
    while True:
        if stopping:
            if all(c.poll() is not None for c in children):
                break
        else:
            now = time.monotonic()
            for i, c in enumerate(children):
                if c.poll() is None:
                    continue
                if restart_at[i] is None:
                    quick = now - started[i] < 5.0
                    delay[i] = min(30.0, delay[i] * 2 or 1.0) if quick else 0.0
                    restart_at[i] = now + delay[i]
                    log.error('worker %d exited with %s; starting a new one%s', c.pid, c.returncode,
                              ' in %gs' % delay[i] if delay[i] else '')
                if now >= restart_at[i]:
                    children[i] = start_worker(i)
                    started[i] = now
                    restart_at[i] = None
        time.sleep(0.2)
    if not stopping:
        return 1
    return next((c.returncode for c in children if c.returncode and c.returncode > 0), 0)


if __name__ == '__main__':
    sys.exit(main())
