"""`python -m pipyx.repo`: the repo server, itself a pipyx program (listen(...).demux_http(), each request answered
by api.handle) run by a pipyx Worker, so it drains on SIGTERM/SIGINT like any pipyx script.

    python -m pipyx.repo --repo-dir ./pipyx-repo --listen 0.0.0.0:6060      # token from PIPYX_REPO_TOKEN
    python -m pipyx.repo --listen 127.0.0.1:6060 --allow-no-token           # local, unauthenticated writes
    python -m pipyx.repo --repo-tls-cert cert.pem --repo-tls-key key.pem   # HTTPS
    python -m pipyx.repo --repo-store etcd://10.0.0.9:2379/pipyx            # several servers, one fleet
"""
import argparse
import asyncio
import logging
import os
import sys

from .._native import Message, TlsContext, TlsError, ctx
from ..address import format_address, parse_address
from ..config import Configuration
from ..program import Program
from ..logs import LEVELS, setup_logging

DEFAULT_LISTEN = '0.0.0.0:6060'
DEFAULT_DIR = 'pipyx-repo'
DEFAULT_MAX_FILE_SIZE = 64 * 1024 * 1024
DB_FILE = 'repo.db'
LOOPBACK = ('127.0.0.1', 'localhost', '::1')

log = logging.getLogger('pipyx.repo')


def parse_args(argv):
    p = argparse.ArgumentParser(prog='pipyx-repo', description='The pipyx repo: codebases that workers pull.')
    p.add_argument('--repo-dir', default=DEFAULT_DIR, metavar='DIR',
                   help='where the repo keeps its database (default ./%s)' % DEFAULT_DIR)
    p.add_argument('--listen', default=DEFAULT_LISTEN, metavar='ADDR:PORT',
                   help='address and port to serve on (default %s)' % DEFAULT_LISTEN)
    p.add_argument('--repo-store', metavar='URL',
                   help='keep the repo in etcd v3 instead of --repo-dir: etcd://HOST:PORT/PREFIX; every server '
                        'given the same URL serves the same codebases')
    p.add_argument('--repo-tls-cert', metavar='FILE', help='serve HTTPS with this certificate (PEM, chain first)')
    p.add_argument('--repo-tls-key', metavar='FILE', help="the certificate's private key (PEM)")
    p.add_argument('--repo-token', metavar='T',
                   help='the bearer token writes need (default: $PIPYX_REPO_TOKEN); prefer the variable, since '
                        'arguments show in ps')
    p.add_argument('--allow-no-token', action='store_true',
                   help='run without a token; only allowed when listening on 127.0.0.1 or localhost')
    p.add_argument('--max-file-size', type=non_negative(int), default=DEFAULT_MAX_FILE_SIZE, metavar='BYTES',
                   help='largest file (request body) accepted; a larger Content-Length is answered 413 before the '
                        'body is read (default 64 MiB; 0 for no limit)')
    p.add_argument('--linger-time', type=non_negative(float), metavar='S',
                   help='once the server has closed a connection on a client still sending (a refused upload that '
                        'asked to close, a 413), how long what it sends is read and dropped so that it can read the '
                        'answer (default 30; 0: close at once)')
    p.add_argument('--log-level', default='info', choices=list(LEVELS))
    p.add_argument('--drain-timeout', type=float, default=10.0, metavar='S',
                   help='on SIGTERM/SIGINT, how long requests in flight may take to finish (default 10)')
    return p, p.parse_args(argv)


def non_negative(kind):
    def parse(text):
        value = kind(text)
        if value < 0:
            raise argparse.ArgumentTypeError('must not be negative: %s' % text)
        return value
    parse.__name__ = kind.__name__          # argparse names the type in its error message
    return parse


def build_program(api, host, port, max_body_size=DEFAULT_MAX_FILE_SIZE, tls=None, linger_time=None):
    """The repo server as a pipyx Program: one listener whose requests api.handle answers. tls: (certificate file,
    key file): the connections go through accept_tls first, as any pipyx script's HTTPS does, and the files are read
    again on each load (SIGHUP renews the certificate). The admin page hangs off api.ui.
    max_body_size: a larger Content-Length is answered 413 from the head by the HTTP decoder (0: no limit).
    linger_time: listen's, how long what a client still sends is read and dropped once the server has closed the
    connection on it (None: the engine's default).

    Each request gets its own sub-pipeline (demux_http), which sees the head before the body. Only a request whose
    answer reads its body (api.takes_body: a write its token allows) has it gathered; any other is answered from its
    head, while its body, if it has one, is decoded and dropped as it arrives."""
    program = Program('<pipyx-repo>')
    module = program.module_for('<pipyx-repo>')
    module.scope.declare({'takes_body': False})       # set from each request's head, read by its branch
    options = {}
    if linger_time is not None:
        options['linger_time'] = linger_time

    def on_head(start):
        ctx.takes_body = api.takes_body(start.head)

    def from_head(start):
        return api.handle(Message(start.head))

    def head_only(p):
        # The request's Data and MessageEnd are dropped ahead of the filter that makes the answer, whose own events
        # only meet the filters after it. demux_http decodes the body whatever the answer: dropped here, it costs no
        # memory, and the connection carries the next request after it (or lingers, if it was asked to close).
        p.replace_data().replace_message_end().replace_message_start(from_head)

    def gathered(p):
        # The decoder already holds the body to max_body_size; the collector's own limit would cut it short unsaid.
        p.replace_message(api.handle, size_limit=max_body_size or sys.maxsize)

    def serve(p):
        p.demux_http(max_body_size=max_body_size).to(lambda p: p
            .handle_message_start(on_head)
            .branch(lambda: ctx.takes_body, gathered, head_only))

    listener = Configuration(module, None).listen(format_address(host, port), **options)
    if tls is not None:
        listener.accept_tls(certificate=tls, min_version='TLSv1.2', alpn='http/1.1').to(serve)
    else:
        serve(listener)
    program.resolve()
    return program


def tls_certificate(cert, key):
    """(cert, key) as absolute file names for build_program, or None without a certificate. ValueError names what is
    missing or unreadable, or a key that is not the certificate's."""
    if not cert and not key:
        return None
    if not (cert and key):
        raise ValueError('give both --repo-tls-cert and --repo-tls-key')
    pair = (os.path.abspath(cert), os.path.abspath(key))
    try:
        TlsContext(True, {'certificate': pair})
    except TlsError as e:
        raise ValueError('cannot load the TLS certificate %s / key %s: %s' % (cert, key, e))
    return pair


def open_store(args):
    """The Store the options name: etcd with --repo-store, else SQLite in --repo-dir."""
    if args.repo_store:
        from .etcd_store import EtcdStore
        return EtcdStore(args.repo_store)
    from .store import SQLiteStore
    return SQLiteStore(os.path.join(args.repo_dir, DB_FILE))


def store_watcher(api, interval=0.5):
    """A background task for the Worker: wakes the long polls on codebases that another server sharing the store
    published (or deleted). Its store calls go through the API's store thread, like every other one."""
    async def watch(worker):
        failing = False
        while True:
            await asyncio.sleep(interval)
            try:
                names = await api.call(api.store.changed)
            except Exception as e:       # etcd down: requests fail on their own; log the outage once
                if not failing:
                    log.warning('cannot watch the store for other servers\' publishes: %s', e)
                failing = True
                continue
            if failing:
                log.info('watching the store again')
                failing = False
            for name in names:
                api.notify(name)
    return watch


def configured_token(option, environ):
    """(token, blank): the token --repo-token or else PIPYX_REPO_TOKEN gives, and which of them was set but blank.
    White space around a token is not part of it (clients' is stripped too), so one that is all white space, like
    an empty one, is no token: a server must not believe it is protected by it."""
    blank = None
    for name, value in (('--repo-token', option), ('PIPYX_REPO_TOKEN', environ.get('PIPYX_REPO_TOKEN'))):
        if value is None:
            continue
        if value.strip():
            return value.strip(), None
        blank = blank or name
    return None, blank


def check_token(token, host, allow_no_token, blank=None):
    """None if the server may start with this token on this host, else the reason it must not. blank: the option or
    variable that was set to a blank token, to say why there is none."""
    if token:
        return None
    why = '%s is blank, which is no token' % blank if blank else 'no token'
    if not allow_no_token:
        return ('%s: set PIPYX_REPO_TOKEN or --repo-token (or, on 127.0.0.1 only, --allow-no-token)' % why)
    if host not in LOOPBACK:
        return ('%s, and --allow-no-token is only allowed on 127.0.0.1 or localhost, not %s: anyone who can reach '
                'the port could publish code that workers then run' % (why, host))
    return None


def main(argv=None):
    """Runs the repo server until SIGTERM/SIGINT; returns the exit code (2 for a usage error, 1 for a failure)."""
    parser, args = parse_args(sys.argv[1:] if argv is None else argv)
    setup_logging(args.log_level)
    try:
        host, port = parse_address(args.listen)
    except ValueError as e:
        print('pipyx-repo: error: --listen %s' % e, file=sys.stderr)
        return 2
    token, blank = configured_token(args.repo_token, os.environ)
    reason = check_token(token, host, args.allow_no_token, blank)
    if reason:
        print('pipyx-repo: error: %s' % reason, file=sys.stderr)
        return 2

    try:
        tls = tls_certificate(args.repo_tls_cert, args.repo_tls_key)
    except ValueError as e:
        print('pipyx-repo: error: %s' % e, file=sys.stderr)
        return 2

    import uvloop
    from ..worker import Worker
    from .api import RepoAPI

    where = args.repo_store or os.path.abspath(args.repo_dir)
    try:
        store = open_store(args)
    except ImportError as e:
        print('pipyx-repo: error: the etcd store needs the aetcd package (pip install "pipyx[etcd]"): %s' % e,
              file=sys.stderr)
        return 1
    except Exception as e:              # sqlite3.Error, OSError, grpc errors: a bad directory, a damaged file, no etcd
        print('pipyx-repo: error: cannot open the repo in %s: %s' % (where, e), file=sys.stderr)
        return 1
    api = RepoAPI(store, token)

    def load():
        return build_program(api, host, port, args.max_file_size, tls, args.linger_time)

    class RepoWorker(Worker):
        def stop(self):
            super().stop()
            api.wake_all(stopping=True)    # long polls answer now instead of holding up the drain

    worker = RepoWorker(load, False, args.drain_timeout)
    if blank:
        log.warning('%s is blank: running with no token, as --allow-no-token allows', blank)
    log.info('repo in %s, %s%s', where, 'writes need the token' if token else 'writes need NO token (loopback only)',
             ', HTTPS' if tls else '')
    background = (store_watcher(api),) if args.repo_store else ()
    try:
        uvloop.run(worker.run(load(), background))
    except OSError as e:
        print('pipyx-repo: error: %s' % e, file=sys.stderr)
        return 1
    finally:
        api.close()
    return 0
