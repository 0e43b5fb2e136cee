# Step 5: load balancing. Spread requests over several backends, in proportion to their weights.
import os

from pipyx import pipy, ctx, algo

port = int(os.environ.get('PORT', '8000'))
backends = os.environ.get('BACKENDS', '127.0.0.1:8081,127.0.0.1:8082').split(',')
weights = [int(w) for w in os.environ.get('WEIGHTS', '2,1').split(',')]

# {'127.0.0.1:8081': 2, '127.0.0.1:8082': 1}: the first backend gets two requests for every one of the second.
balancer = algo.RoundRobinLoadBalancer(dict(zip(backends, weights)))


def pick(start):
    ctx.allocation = balancer.allocate()   # choose a backend and count it as busy


def release(event):
    if ctx.allocation is not None:
        ctx.allocation.free()              # this request no longer keeps the backend busy
        ctx.allocation = None


app = pipy(allocation=None)

(app.listen(port)
    .demux_http().to(lambda p: p
        .handle_message_start(pick)        # the request starts: allocate
        .mux_http().to(lambda p: p
            .connect(lambda: ctx.allocation.target)
        )
        .handle_message_end(release)       # the response is complete: free
        .handle_stream_end(release)        # or the request failed (backend down...): free too
    )
)
