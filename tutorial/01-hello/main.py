# Step 1: the smallest useful pipyx script, an HTTP server that says hello.
import os

from pipyx import pipy, Message

port = int(os.environ.get('PORT', '8080'))

pipy().listen(port).serve_http(Message('Hi, there!\n'))
