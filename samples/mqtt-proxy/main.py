"""An MQTT proxy: each client goes to the broker its client ID routes it to, and its publishes are rate-limited.

    LISTEN=1883 BROKER=127.0.0.1:1884 ROUTES='sensor-*=127.0.0.1:1885' PUBLISH_RATE=10 pipyx samples/mqtt-proxy/main.py

ROUTES is a comma-separated list of `client-id-pattern=broker` (shell-style patterns, first match wins); clients that
match none go to BROKER. PUBLISH_RATE is the most PUBLISH packets a second per client ID (PUBLISH_BURST: how many may
come at once, default the same); a client that publishes faster is slowed down, not disconnected.
"""
import fnmatch
import logging
import os

from pipyx import ctx, pipy

LISTEN = os.environ.get('LISTEN', '1883')
BROKER = os.environ.get('BROKER', '127.0.0.1:1884')
ROUTES = [tuple(r.strip().split('=', 1)) for r in os.environ.get('ROUTES', '').split(',') if '=' in r]
PUBLISH_RATE = float(os.environ.get('PUBLISH_RATE', '10'))
PUBLISH_BURST = float(os.environ.get('PUBLISH_BURST', PUBLISH_RATE))

log = logging.getLogger('mqtt-proxy')


def route(start):
    # The first packet of a connection is its CONNECT: it decides where the connection goes.
    packet = start.head
    if packet.type == 'CONNECT' and ctx.client_id is None:
        ctx.client_id = packet.client_id
        ctx.broker = next((broker for pattern, broker in ROUTES if fnmatch.fnmatchcase(packet.client_id, pattern)),
                          BROKER)
        log.info('client %r (MQTT level %d) from %s -> %s', packet.client_id, packet.protocol_level,
                 ctx.inbound.remote_address, ctx.broker)


(pipy(client_id=None, broker=BROKER)
 .listen(LISTEN, idle_timeout=0)      # the broker enforces each client's keep-alive
 .decode_mqtt()
 .handle_message_start(route)
 .throttle_message_rate(PUBLISH_RATE, burst=PUBLISH_BURST, key=lambda: ctx.client_id,
                        match=lambda packet: packet.type == 'PUBLISH')
 .encode_mqtt()
 .connect(lambda: ctx.broker, read_timeout=0, idle_timeout=0))
