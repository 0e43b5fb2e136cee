"""A Redis proxy: many clients share a few upstream connections, commands route by key prefix, reads go to replicas,
and a block list of commands is answered with an error. Configured by environment, or by a YAML file (CONFIG):

    PORT=6380 UPSTREAM=127.0.0.1:6379 REPLICAS=127.0.0.1:6381 ROUTES='session:=127.0.0.1:6382' \\
        BLOCKED=FLUSHALL,FLUSHDB pipyx samples/redis-proxy/main.py

See README.md for every setting, and for the commands that cannot share a connection.
"""
import itertools
import logging
import os

from pipyx import Message, StreamEnd, ctx, pipy
from pipyx.resp import RespError, resp_encode

log = logging.getLogger('redis-proxy')

# Commands that read only: with replicas, they go to one of them (in turn).
READS = set('''GET MGET STRLEN GETRANGE SUBSTR EXISTS TYPE TTL PTTL EXPIRETIME PEXPIRETIME HGET HMGET HGETALL HKEYS
HVALS HLEN HEXISTS HSTRLEN HRANDFIELD LRANGE LLEN LINDEX LPOS SMEMBERS SISMEMBER SMISMEMBER SCARD SRANDMEMBER SINTER
SUNION SDIFF ZRANGE ZRANGEBYSCORE ZRANGEBYLEX ZREVRANGE ZREVRANGEBYSCORE ZSCORE ZMSCORE ZCARD ZCOUNT ZLEXCOUNT ZRANK
ZREVRANK XRANGE XREVRANGE XLEN GETBIT BITCOUNT BITPOS PFCOUNT GEOPOS GEODIST GEOSEARCH DUMP OBJECT'''.split())

# Commands that change the state of the connection they come on (a transaction, a database, a blocking wait, the
# client's name...): the client that sends one gets an upstream connection of its own from then on.
PINNING = set('''MULTI EXEC DISCARD WATCH UNWATCH SELECT CLIENT HELLO AUTH RESET READONLY READWRITE BLPOP BRPOP
BRPOPLPUSH BLMOVE BLMPOP BZPOPMIN BZPOPMAX BZMPOP WAIT WAITAOF'''.split())

# Commands after which a connection's replies no longer answer its commands one to one: refused.
UNSHARED = set('SUBSCRIBE PSUBSCRIBE SSUBSCRIBE UNSUBSCRIBE PUNSUBSCRIBE SUNSUBSCRIBE MONITOR SYNC PSYNC'.split())


def load_config():
    config = {}
    if os.environ.get('CONFIG'):
        import yaml
        with open(os.environ['CONFIG']) as f:
            config = yaml.safe_load(f) or {}

    def setting(name, default):
        return os.environ.get(name.upper(), config.get(name, default))

    def addresses(value):
        if isinstance(value, str):
            value = [a for a in value.split(',') if a.strip()]
        return [a.strip() for a in value or []]

    routes = config.get('routes') or []
    if os.environ.get('ROUTES'):
        routes = [dict(zip(('prefix', 'upstream'), r.split('=', 1))) for r in os.environ['ROUTES'].split(',')
                  if '=' in r]
    return {
        'port': int(setting('port', 6380)),
        'routes': [{'prefix': str(r['prefix']).encode(), 'upstream': r['upstream'],
                    'replicas': addresses(r.get('replicas'))} for r in routes],
        'default': {'prefix': b'', 'upstream': setting('upstream', '127.0.0.1:6379'),
                    'replicas': addresses(setting('replicas', []))},
        'blocked': {c.upper() for c in addresses(setting('blocked', []))},
        'max_value': int(setting('max_value', 64 << 20)),
        'read_timeout': float(setting('read_timeout', 60)),
        'pinned_idle': float(setting('pinned_idle', 300)),
    }


CONFIG = load_config()
for route in CONFIG['routes'] + [CONFIG['default']]:
    route['next_replica'] = itertools.cycle(route['replicas']).__next__ if route['replicas'] else None


def choose(start):
    # Where this command goes (ctx.target), or the reply the proxy gives it instead (ctx.answer).
    head = start.head
    name = head.command
    ctx.answer = None
    if name is None:
        ctx.answer = RespError('ERR a command is an array of bulk strings')
        return
    if name in CONFIG['blocked']:
        ctx.answer = RespError("ERR command '%s' is blocked by the proxy" % name)
        return
    if name in UNSHARED:
        ctx.answer = RespError("ERR command '%s' is not supported through the proxy" % name)
        return
    if name == 'CLIENT' and head.args and head.args[0].upper() in (b'SETINFO', b'SETNAME'):
        ctx.answer = 'OK'                       # (what a client library says of itself: kept here, sharing goes on)
        return
    if name in PINNING:
        ctx.pinned = True
    route = CONFIG['default']
    if ctx.pinned:
        ctx.target = route['upstream']          # (a client with a connection of its own keeps to the default)
        return
    key = head.key
    if key is not None:
        for r in CONFIG['routes']:
            if key.startswith(r['prefix']):
                route = r
                break
    if name in READS and route['next_replica'] is not None:
        ctx.target = route['next_replica']()
    else:
        ctx.target = route['upstream']


def session_key():
    # Shared connections per upstream; a pinned client's own connection is keyed by its inbound connection.
    return (ctx.target, ctx.inbound) if ctx.pinned else ctx.target


def upstream_failed(end):
    if end.error is None:
        return end
    log.warning('upstream %s: %s', ctx.target, end.error)
    return [Message(resp_encode(RespError('ERR upstream %s unavailable (%s)' % (ctx.target, end.error)))), StreamEnd()]


def upstream(read_timeout):
    # A session: one upstream connection, the commands of many streams in, their replies out in order.
    return lambda p: (p
        .encode_resp()
        .connect(lambda: ctx.target, read_timeout=read_timeout, idle_timeout=0)
        .decode_resp(inline=False, max_bulk_length=CONFIG['max_value'], max_message_size=CONFIG['max_value']))


def through(pinned):
    return lambda p: (p
        .mux(session_key, max_queue=0, max_idle=CONFIG['pinned_idle'] if pinned else 30,
             max_message_size=CONFIG['max_value'] + 1024)
        .to(upstream(0 if pinned else CONFIG['read_timeout']))       # (a blocking wait may last)
        .replace_stream_end(upstream_failed))


(pipy(target=None, answer=None, pinned=False)
 .listen(CONFIG['port'], idle_timeout=0)
 .decode_resp(max_bulk_length=CONFIG['max_value'], max_message_size=CONFIG['max_value'])
 .demux().to(lambda p: p
    .handle_message_start(choose)
    .branch(lambda: ctx.answer is not None, lambda q: q.replace_message(lambda m: Message(resp_encode(ctx.answer))),
            lambda: ctx.pinned, through(pinned=True),
            through(pinned=False)))
 .encode_resp())
