"""The pipyx command."""
import argparse
import logging
import signal
import subprocess
import sys
import time

from .__version__ import VERSION

USAGE_EXAMPLES = """examples:
  pipyx main.py                    run a script
  pipyx tutorial/01-hello          run a directory's main.py
  pipyx -e "pipy().listen(8080).serve_http(Message('hi'))"
  pipyx main.py --workers 2        two processes sharing each port
  pipyx main.py --verify           check that the script loads, then exit

signals: SIGTERM/SIGINT finish requests in flight and exit; SIGHUP reloads the script."""


def parse_args(argv):
    p = argparse.ArgumentParser(prog='pipyx', description='A programmable, scriptable proxy engine.',
                                epilog=USAGE_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('script', nargs='?', help='the script to run, or a directory holding main.py')
    p.add_argument('-e', '--eval', dest='expression', metavar='CODE',
                   help="run CODE instead of a script file; pipyx's public names are in scope")
    p.add_argument('--workers', type=int, default=1, metavar='N',
                   help='worker processes sharing each port with SO_REUSEPORT (default 1)')
    p.add_argument('--log-level', default='info', choices=['debug', 'info', 'warn', 'error'],
                   help='how much to log (default info); debug adds tracebacks to errors')
    p.add_argument('--verify', action='store_true', help='load the script, report errors, and exit')
    p.add_argument('--drain-timeout', type=float, default=10.0, metavar='S',
                   help='on SIGTERM/SIGINT, how long requests in flight may take to finish (default 10)')
    p.add_argument('--reuse-port', action='store_true', help=argparse.SUPPRESS)
    p.add_argument('--version', action='version', version='pipyx ' + VERSION)
    return p, p.parse_args(argv)


def setup_logging(level):
    logging.basicConfig(level={'debug': logging.DEBUG, 'info': logging.INFO, 'warn': logging.WARNING,
                               'error': logging.ERROR}[level],
                        format='%(asctime)s pipyx[%(process)d] %(levelname)s %(message)s',
                        datefmt='%Y-%m-%d %H:%M:%S', stream=sys.stderr)
    from . import errors, _native
    _native.set_error_reporter(errors.report)


def main(argv=None):
    parser, args = parse_args(sys.argv[1:] if argv is None else argv)
    setup_logging(args.log_level)
    log = logging.getLogger('pipyx')
    if args.script is None and args.expression is None:
        parser.print_usage(sys.stderr)
        print('pipyx: give a script to run, or -e CODE', file=sys.stderr)
        return 2
    from .config import ScriptError
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
        return run_workers(args, log)
    from .worker import Worker
    import uvloop

    def load():
        return load_program(args.script, args.expression)

    worker = Worker(load, args.reuse_port, args.drain_timeout)
    try:
        uvloop.run(worker.run(program))
    except OSError as e:
        print('pipyx: error: %s' % e, file=sys.stderr)
        return 1
    return 0


def run_workers(args, log):
    """The parent of --workers N: starts N worker processes on the same ports and passes signals on to them."""
    cmd = [sys.executable, '-m', 'pipyx', '--reuse-port', '--log-level', args.log_level,
           '--drain-timeout', str(args.drain_timeout)]
    cmd += ['-e', args.expression] if args.expression is not None else [args.script]
    children = [subprocess.Popen(cmd) for _ in range(args.workers)]
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

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
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
                    children[i] = subprocess.Popen(cmd)
                    started[i] = now
                    restart_at[i] = None
        time.sleep(0.2)
    return 0 if stopping else 1


if __name__ == '__main__':
    sys.exit(main())
