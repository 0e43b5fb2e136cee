# Step 4: routing. Look at each request's host and path, pick an upstream, or answer 404.
import os

from pipyx import pipy, Message, ctx, algo

port = int(os.environ.get('PORT', '8000'))
# UPSTREAMS: the two upstreams, 'api' first and 'web' second.
api, web = os.environ.get('UPSTREAMS', '127.0.0.1:8081,127.0.0.1:8082').split(',')

router = algo.URLRouter({
    '/api/*': api,                 # any host, any path under /api/
    '/static/*': web,              # any host, any path under /static/
    '/': web,                      # exactly '/'
    'admin.example.com': web,      # everything sent to this host
})


def choose_target(start):
    head = start.head              # the request head: method, path, headers
    ctx.target = router.find(head.headers.get('host', ''), head.path)


app = pipy(target=None)            # a context variable: every connection gets its own 'target'

(app.listen(port)
    .demux_http().to(lambda p: p
        .handle_message_start(choose_target)
        .branch(
            lambda: ctx.target is None, 'not-found',
            'forward',             # the default when no condition holds
        )
    )
)

(app.pipeline('forward')
    .mux_http().to(lambda p: p
        .connect(lambda: ctx.target)
    )
)

(app.pipeline('not-found')
    .replace_message(Message({'status': 404, 'headers': {'content-type': 'text/plain'}}, 'No route\n'))
)
