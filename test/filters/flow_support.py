"""One pipyx for the socket tests of the flow filters (branch_message*, link by name, pipe, fork_join/fork_race, loop,
repeat, replay, swap, on_start, insert, dummy, *_message_body): a port per case, started once per test session."""
import pytest

from test.helpers import ScriptOnPorts

SCRIPT = '''
import asyncio
from pipyx import pipy, Message, StreamEnd, Data, ctx

# -- branch_message_start / branch_message: per request, chosen by its head or its whole body
def by_path(e):
    if e.head.path == '/raise':
        raise ValueError('no branch for this one')  # BRANCH-RAISE
    return e.head.path.startswith('/a')

pipy().listen('127.0.0.1:{p_branch}').demux_http().to(lambda p: p
    .branch_message_start(by_path, lambda q: q.replace_message(Message('chose a')),
                          lambda q: q.replace_message(Message('chose default'))))

pipy().listen('127.0.0.1:{p_branch_body}').demux_http().to(lambda p: p
    .branch_message(lambda m: b'urgent' in m.body.to_bytes(), lambda q: q.replace_message(Message('urgent')),
                    lambda q: q.replace_message(lambda m: Message('normal: %d bytes' % len(m.body))),
                    size_limit=64))

# -- link to a pipeline named at run time
pipy(route=None).listen('127.0.0.1:{p_link}').demux_http().to(lambda p: p
    .handle_message_start(lambda e: setattr(ctx, 'route', e.head.path.strip('/')))
    .link(lambda: ctx.route))  # LINK-BY-NAME
pipy().pipeline('hello').replace_message(Message('hello from link'))
pipy().pipeline('bye').replace_message(Message('bye from link'))

# -- pipe: a name from a map, or a chain handed on with pipe_next
def tag(text):
    return lambda q: q.replace_message(lambda m: Message(m.body.to_bytes() + text.encode())).pipe_next()

pipy().listen('127.0.0.1:{p_pipe}').demux_http().to(lambda p: p
    .pipe(lambda e: e.head.path.strip('/').split(',') if ',' in e.head.path else e.head.path.strip('/'),
          dict(one=tag('[one]'), two=tag('[two]'), three=tag('[three]'))))

# -- fork_join and fork_race
joined = {{}}

async def record(e):
    await asyncio.sleep(ctx.item[1])
    joined.setdefault(e.head.path, []).append(ctx.item[0])

pipy(item=None).listen('127.0.0.1:{p_join}').demux_http().to(lambda p: p
    .fork_join([('a', 0.15), ('b', 0.01), ('c', 0.08)]).to(lambda q: q
        .on_start(lambda item: setattr(ctx, 'item', item))
        .handle_message_start(record)
        .replace_message_end(StreamEnd()))        # a fork has ended when it outputs its StreamEnd
    .replace_message(lambda m: Message(','.join(sorted(joined.pop(m.head.path, []))))))

async def answer(m):
    name, delay = ctx.item
    await asyncio.sleep(delay)
    if name.startswith('bad') or m.head.path == '/allfail':
        raise RuntimeError('fork %s failed' % name)  # RACE-RAISE
    return Message('winner: ' + name)

pipy(item=None).listen('127.0.0.1:{p_race}').demux_http().to(lambda p: p
    .fork_race([('slow', 0.3), ('bad', 0.0), ('fast', 0.05)]).to(lambda q: q
        .on_start(lambda item: setattr(ctx, 'item', item))
        .replace_message(answer)))

# -- replay: retry against a flaky upstream until it answers 200
failures = {{}}

def flaky(req):
    key = req.head.path
    left = failures.setdefault(key, int(key.rsplit('/', 1)[1]))
    if left > 0:
        failures[key] = left - 1
        return Message({{'status': 503}}, 'not yet')
    return Message('ok after retries')

pipy().listen('127.0.0.1:{p_flaky}').serve_http(flaky)

def retry_on_5xx(m):
    return StreamEnd('Replay') if m.head.status >= 500 else m

for port, replays in (({p_replay}, 3), ({p_replay_limit}, 1)):
    pipy().listen('127.0.0.1:%d' % port).demux_http().to(lambda p: p
        .replay(delay=0.01, max_replays=replays).to(lambda q: q
            .mux_http().to(lambda r: r.connect('127.0.0.1:{p_flaky}'))
            .replace_message(retry_on_5xx)))

# -- repeat: run the sub-pipeline again while a condition holds
def again(end):
    if ctx.tries == 99:
        raise KeyError('tries')  # REPEAT-RAISE
    return ctx.tries < 3

def count(e):
    ctx.tries = 99 if e.head.path == '/raise' else ctx.tries + 1

pipy(tries=0).listen('127.0.0.1:{p_repeat}').demux_http().to(lambda p: p
    .repeat(again).to(lambda q: q.handle_message_start(count).replace_message(StreamEnd()))
    .replace_stream_end(lambda e: e if e.error else Message('tries=%d' % ctx.tries)))

# -- loop: a countdown that feeds itself
def countdown(d):
    n = int(d.to_bytes())
    return str(n - 1).encode() if n > 0 else None

pipy().listen('127.0.0.1:{p_loop}').loop().to(lambda q: q.replace_data(countdown))

# -- swap: a chat room of connections
pipy().listen('127.0.0.1:{p_swap}').swap('room')

# -- on_start: a greeting before the client says anything; insert: a prefix before the first input; dummy
pipy().listen('127.0.0.1:{p_greet}').on_start(lambda: Data(b'welcome\\n')).handle_data(lambda d: None)
pipy().listen('127.0.0.1:{p_insert}').insert(b'>> ')
pipy().listen('127.0.0.1:{p_dummy}').dummy()

# -- whole bodies
sizes = []
pipy().listen('127.0.0.1:{p_body_seen}').demux_http().to(lambda p: p
    .handle_message_body(lambda d: sizes.append(len(d)))
    .replace_message(lambda m: Message('seen %d bytes' % sizes[-1])))

pipy().listen('127.0.0.1:{p_body}').demux_http().to(lambda p: p
    .replace_message_body(lambda d: d.to_bytes().upper(), size_limit=16)
    .replace_message(lambda m: Message(m.body)))
'''

PORT_NAMES = ('p_branch', 'p_branch_body', 'p_link', 'p_pipe', 'p_join', 'p_race', 'p_flaky', 'p_replay',
              'p_replay_limit', 'p_repeat', 'p_loop', 'p_swap', 'p_greet', 'p_insert', 'p_dummy', 'p_body',
              'p_body_seen')


class FlowServer(ScriptOnPorts):
    def __init__(self, tmp):
        super().__init__(tmp, SCRIPT, PORT_NAMES)

    def line_of(self, marker):
        """The script line that carries # marker."""
        return next(i + 1 for i, ln in enumerate(self.text.splitlines()) if '# ' + marker in ln)

    def log_has(self, text):
        return text in self.proc.log()


@pytest.fixture(scope='session')
def flow(tmp_path_factory):
    s = FlowServer(str(tmp_path_factory.mktemp('flow')))
    yield s
    s.proc.stop()
