# Plugin: only requests with 'Authorization: Bearer <TOKEN>' go further; the others get 401 right here.
import os

from pipyx import pipy, Message, ResponseHead, ctx

token = os.environ.get('TOKEN', 's3cret')


def check(start):
    ctx.authorized = start.head.headers.get('authorization') == 'Bearer ' + token


def deny(request):
    # A response made by the script: its head is a ResponseHead, like the heads of responses from upstreams, so
    # the plugins before this one can read and change it the same way (.status, .headers).
    return Message(ResponseHead(401, {'content-type': 'text/plain', 'www-authenticate': 'Bearer'}),
                   'Unauthorized: send "Authorization: Bearer <token>"\n')


(pipy(authorized=False)
    .pipeline('request')
    .handle_message_start(check)
    .branch(
        lambda: ctx.authorized, lambda p: p.chain(),   # the token is right: on to the next module
        lambda p: p.replace_message(deny),             # otherwise answer here, and go no further
    )
)
