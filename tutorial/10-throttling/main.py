# Step 10: throttling. Quotas slow clients down instead of turning them away.
import asyncio
import os

from pipyx import pipy, ctx, algo, Message

port = int(os.environ.get('PORT', '8000'))
reports_at_once = int(os.environ.get('REPORTS_AT_ONCE', '2'))
requests_per_second = int(os.environ.get('REQUESTS_PER_SECOND', '10'))
download_rate = int(os.environ.get('DOWNLOAD_RATE', '100000'))          # bytes a second, per client
download = Message(b'x' * int(os.environ.get('DOWNLOAD_SIZE', '300000')))

# One Quota object, given to the filter: every stream of every connection takes from the same amount.
reports = algo.Quota(reports_at_once)


# A Quota per client: made per stream, but quotas with the same key share one amount, so every connection of a
# client address takes from that client's quota, and each client has its own.
def requests_of_client():
    return algo.Quota(requests_per_second, per=1, key=('requests', ctx.inbound.remote_address))


def download_of_client():
    return algo.Quota(download_rate, per=1, key=('download', ctx.inbound.remote_address))


in_flight = 0


async def report(request):
    global in_flight
    in_flight += 1
    try:
        seen = in_flight
        await asyncio.sleep(0.3)                 # an expensive answer
        return Message('report done (%d in the making)\n' % seen)
    finally:
        in_flight -= 1


(pipy()
    .listen(port)
    .demux_http().to(lambda p: p
        .throttle_message_rate(requests_of_client)          # every request takes 1 from its client's quota
        .branch_message_start(
            lambda start: start.head.path == '/report', lambda p: p
                .throttle_concurrency(reports)              # at most REPORTS_AT_ONCE in the making
                .replace_message(report),
            lambda start: start.head.path == '/download', lambda p: p
                .replace_message(download)
                .throttle_data_rate(download_of_client),    # the answer's bytes, at the client's rate
            lambda p: p
                .replace_message(Message('hello\n'))
        )
    )
)
