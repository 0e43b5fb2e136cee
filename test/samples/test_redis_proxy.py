"""samples/redis-proxy against real redis-server instances (a primary, its replica, and one for a key prefix), with
redis-py, redis-cli and raw sockets as clients."""
import os
import shutil
import socket
import subprocess
import threading
import time

import pytest

from test.helpers import ROOT, Processes, free_port, lacks, missing_peer, no_traceback, wait_for

redis = pytest.importorskip('redis')

SAMPLE = os.path.join(ROOT, 'samples', 'redis-proxy', 'main.py')

pytestmark = pytest.mark.skipif(lacks('redis-server'), reason='redis-server not installed')


def start_redis(processes, *extra):
    port = free_port()
    processes.start(['redis-server', '--port', port, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
                     '--dir', processes.directory] + list(extra), port, name='redis-%d' % port)
    return port


@pytest.fixture(scope='module')
def peers(tmp_path_factory):
    if shutil.which('redis-server') is None:
        missing_peer('redis proxy test: redis-server not installed')
    processes = Processes(tmp_path_factory.mktemp('redis'))
    try:
        primary = start_redis(processes)
        replica = start_redis(processes, '--replicaof', '127.0.0.1', str(primary))
        sessions = start_redis(processes)
        wait_for(lambda: redis.Redis(port=replica, protocol=2).info('replication')['master_link_status'] == 'up',
                 timeout=10, what='the replica in sync')
        port = free_port()
        proxy = processes.pipyx([SAMPLE], port, env={
            'PORT': port, 'UPSTREAM': '127.0.0.1:%d' % primary, 'REPLICAS': '127.0.0.1:%d' % replica,
            'ROUTES': 'session:=127.0.0.1:%d' % sessions, 'BLOCKED': 'FLUSHALL,KEYS'})
        yield {'port': port, 'primary': primary, 'replica': replica, 'sessions': sessions, 'proxy': proxy,
               'processes': processes}
    finally:
        processes.stop_all()


def client(peers, **options):
    # (RESP2 unless a test asks: redis-py's HELLO 3 would give each client an upstream connection of its own)
    options.setdefault('protocol', 2)
    return redis.Redis(port=peers['port'], socket_timeout=5, **options)


def direct(port):
    return redis.Redis(port=port, socket_timeout=5, protocol=2)


def test_get_set_and_mget_through_the_proxy(peers):
    r = client(peers)
    assert r.set('greeting', 'hello') is True
    assert r.get('greeting') == b'hello' or wait_for(lambda: r.get('greeting') == b'hello', timeout=5)
    assert direct(peers['primary']).get('greeting') == b'hello'
    r.set('other', 'x')
    wait_for(lambda: r.mget('greeting', 'other', 'missing') == [b'hello', b'x', None], timeout=5)


def test_keys_route_by_prefix_to_their_upstream(peers):
    r = client(peers)
    r.set('session:42', 'alice')
    assert direct(peers['sessions']).get('session:42') == b'alice'
    assert direct(peers['primary']).get('session:42') is None
    assert r.get('session:42') == b'alice'


def test_reads_go_to_the_replica(peers):
    before = direct(peers['replica']).info('commandstats').get('cmdstat_get', {}).get('calls', 0)
    r = client(peers)
    r.set('split', 'v')
    assert wait_for(lambda: r.get('split') == b'v', timeout=5)
    after = direct(peers['replica']).info('commandstats')['cmdstat_get']['calls']
    assert after > before
    with pytest.raises(redis.ResponseError):
        direct(peers['replica']).set('split', 'w')       # (the replica refuses writes: they went to the primary)


def test_sixteen_pipelined_commands_get_sixteen_replies_in_order(peers):
    r = client(peers)
    p = r.pipeline(transaction=False)
    for i in range(16):
        p.set('session:p%d' % i, i)             # (to one upstream: read-your-writes holds on a connection)
        p.incr('session:p%d' % i)
    assert p.execute() == [x for i in range(16) for x in (True, i + 1)]


def test_a_value_over_a_mebibyte_passes_whole(peers):
    r = client(peers)
    value = os.urandom(3 << 19)
    r.set('session:big', value)
    assert r.get('session:big') == value


def test_resp3_after_hello_3(peers):
    r = client(peers, protocol=3)
    r.hset('session:h', mapping={'a': '1', 'b': '2'})
    assert r.hgetall('session:h') == {b'a': b'1', b'b': b'2'}
    assert r.execute_command('HELLO', '3')[b'proto'] == 3


def test_transactions_and_select_keep_a_connection_of_their_own(peers):
    r = client(peers)
    p = r.pipeline(transaction=True)
    p.set('tx', 'a').append('tx', 'b').get('tx')
    assert p.execute() == [True, 2, b'ab']
    r2 = client(peers, db=3)
    r2.set('in-db-3', 'yes')
    assert r2.get('in-db-3') == b'yes'
    assert redis.Redis(port=peers['primary'], db=3, protocol=2).get('in-db-3') == b'yes'


def test_a_blocking_pop_does_not_hold_up_other_clients(peers):
    got = []
    waiter = threading.Thread(target=lambda: got.append(client(peers).blpop('queue', timeout=5)))
    waiter.start()
    time.sleep(0.3)
    r = client(peers)
    t0 = time.monotonic()
    assert r.ping() is True and time.monotonic() - t0 < 2
    r.lpush('queue', 'job')
    waiter.join(6)
    assert got == [(b'queue', b'job')]


def test_blocked_and_unshareable_commands_are_refused_with_an_error(peers):
    r = client(peers)
    with pytest.raises(redis.ResponseError, match='blocked by the proxy'):
        r.flushall()
    with pytest.raises(redis.ResponseError, match='not supported through the proxy'):
        r.execute_command('SUBSCRIBE', 'news')
    assert r.ping() is True


def test_redis_cli_and_inline_commands(peers):
    cli = ['redis-cli', '-p', str(peers['port'])]
    if shutil.which('redis-cli') is None:
        missing_peer('redis proxy test: redis-cli not installed')
    assert subprocess.run(cli + ['SET', 'session:cli', 'ok'], capture_output=True, timeout=10).stdout == b'OK\n'
    assert subprocess.run(cli + ['GET', 'session:cli'], capture_output=True, timeout=10).stdout == b'ok\n'
    with socket.create_connection(('127.0.0.1', peers['port']), timeout=5) as s:
        s.sendall(b'PING\r\nGET session:cli\r\n')
        assert recv_until(s, b'$2\r\nok\r\n') == b'+PONG\r\n$2\r\nok\r\n'


def recv_until(s, tail):
    # (Until the peer closes, when tail is None)
    data = b''
    while tail is None or not data.endswith(tail):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_bad_input_gets_redis_servers_error_and_the_connection_closes(peers):
    with socket.create_connection(('127.0.0.1', peers['port']), timeout=5) as s:
        s.sendall(b'*1\r\n$4\r\nPING\r\n')
        assert recv_until(s, b'\r\n') == b'+PONG\r\n'
        s.sendall(b'*1\r\n$9223372036854775808\r\n')          # a bulk length of 2^63
        assert recv_until(s, None) == b'-ERR Protocol error: invalid bulk length\r\n'
    assert wait_for(lambda: 'decode_resp' in peers['proxy'].log() and 'invalid bulk length' in peers['proxy'].log())
    assert client(peers).ping() is True


def test_a_client_vanishing_mid_pipeline_leaves_the_others_served(peers):
    for _ in range(5):
        with socket.create_connection(('127.0.0.1', peers['port']), timeout=5) as s:
            s.sendall(b'*2\r\n$3\r\nGET\r\n$9\r\nsession:x\r\n' * 200 + b'*2\r\n$3\r\nGET\r\n$4\r\nsess')
    r = client(peers)
    assert [r.ping() for _ in range(3)] == [True] * 3
    no_traceback(peers['proxy'].log())


def test_an_upstream_down_gets_an_error_reply_not_a_hang(processes):
    closed, port = free_port(), free_port()
    processes.pipyx([SAMPLE], port, env={'PORT': port, 'UPSTREAM': '127.0.0.1:%d' % closed})
    r = redis.Redis(port=port, socket_timeout=5, protocol=2)
    t0 = time.monotonic()
    with pytest.raises(redis.ResponseError, match='unavailable'):
        r.get('k')
    with pytest.raises(redis.ResponseError, match='unavailable'):
        r.set('k', 'v')                         # (the connection stays, each command answered)
    assert time.monotonic() - t0 < 4
