# Plugin: one log line per request, with the status and the time it took; and an x-served-by response header.
import time

from pipyx import pipy, ctx


def on_request(start):
    ctx.request_line = '%s %s' % (start.head.method, start.head.path)
    ctx.started = time.monotonic()


def on_response(start):
    # After chain(), the events are the response coming back from the modules further down.
    start.head.headers['x-served-by'] = 'pipyx'
    print('%s %s -> %d (%.1f ms)' % (
        ctx.inbound.remote_address, ctx.request_line, start.head.status, (time.monotonic() - ctx.started) * 1000))


(pipy(request_line='', started=0.0)
    .pipeline('request')
    .handle_message_start(on_request)    # the request, on its way in
    .chain()                             # ...through the next modules, which answer it...
    .handle_message_start(on_response)   # the response, on its way out
)
