# Step 9: retries. A request whose backend cannot be reached, or answers 5xx, is sent again to the next backend.
import os

from pipyx import pipy, ctx, algo, StreamEnd

port = int(os.environ.get('PORT', '8000'))
backends = os.environ.get('BACKENDS', '127.0.0.1:8081,127.0.0.1:8082').split(',')
retries = int(os.environ.get('RETRIES', '2'))

balancer = algo.RoundRobinLoadBalancer(backends)


def pick(start):
    ctx.target = balancer.next()             # each try of the request picks again


def retry_if_5xx(response):
    if response.head.status >= 500:
        print('%s answered %d: retrying' % (ctx.target, response.head.status))
        return StreamEnd('Replay')           # nothing of this answer goes out: replay asks for another try
    return response


def retry_if_unreachable(end):
    if end.error is not None:
        print('%s: %s: retrying' % (ctx.target, end.error))
        return StreamEnd('Replay')
    return end


app = pipy(target=None)

(app.listen(port)
    .demux_http().to(lambda p: p
        # replay records the request; each StreamEnd('Replay') from inside runs it again after `delay`
        .replay(delay=0.05, max_replays=retries).to(lambda p: p
            .handle_message_start(pick)
            .mux_http().to(lambda p: p
                .connect(lambda: ctx.target)
            )
            .replace_message(retry_if_5xx)
            .replace_stream_end(retry_if_unreachable)
        )
    )
)
