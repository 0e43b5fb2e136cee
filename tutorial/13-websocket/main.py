# Step 13: WebSocket. The proxy of step 3 passes WebSocket through to its upstream as it is; /shout is answered by
# the script itself: every text message comes back in capitals.
import os

from pipyx import Message, StreamEnd, pipy, websocket_handshake

port = int(os.environ.get('PORT', '8000'))
upstream = os.environ.get('UPSTREAM', '127.0.0.1:8081')


def shout(msg):
    op = msg.head.opcode
    if op == 1:                                            # text: back in capitals
        return Message({'opcode': 1}, msg.body.to_bytes().decode('utf-8').upper())
    if op == 9:                                            # ping: pong
        return Message({'opcode': 10}, msg.body)
    if op == 8:                                            # close: close back, then hang up
        return [Message({'opcode': 8}, msg.body), StreamEnd()]
    return None                                            # binary, pong: dropped


(pipy()
    .listen(port)
    .demux_http().to(lambda p: p
        .branch_message_start(
            lambda start: start.head.path == '/shout', lambda p: p
                .accept_http_tunnel(websocket_handshake).to(lambda p: p    # 101, then the connection is ours
                    .decode_websocket(masked=True)                         # frames -> messages
                    .replace_message(shout)
                    .encode_websocket()                                    # messages -> frames
                ),
            lambda p: p                                                    # everything else, upgrades included
                .mux_http().to(lambda p: p.connect(upstream))
        )
    )
)
