# Step 2: an echo server. A handler function sees each request and builds the answer.
import os

from pipyx import pipy, Message

port = int(os.environ.get('PORT', '8080'))


def echo(req):
    head = req.head
    return Message(
        {
            'status': 200,
            'headers': {
                'content-type': head.headers.get('content-type', 'text/plain'),
                'x-echo': '%s %s' % (head.method, head.path),
            },
        },
        req.body,  # the request body, byte for byte
    )


pipy().listen(port).serve_http(echo)
