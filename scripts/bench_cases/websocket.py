# The websocket case of scripts/bench: WebSocket through a reverse proxy (the upgrade passed on by demux_http ->
# mux_http -> connect). TARGET: the echo upstream.
import os
from pipyx import pipy
target = os.environ.get('TARGET', '127.0.0.1:8081')
pipy().listen(int(os.environ.get('PORT', 8080))).demux_http().to(
    lambda p: p.mux_http().to(lambda p: p.connect(target)))
