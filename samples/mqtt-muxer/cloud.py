"""The cloud end of the IoT muxer: edges' tunnels arrive here, and every device channel in them gets its own
connection to the broker — the device's CONNECT, will, subscriptions, keep-alives and DISCONNECT reach the broker
exactly as the device sent them.

    LISTEN=9883 BROKER=127.0.0.1:1883 pipyx samples/mqtt-muxer/cloud.py
"""
import os

from pipyx import pipy

LISTEN = os.environ.get('LISTEN', '9883')
BROKER = os.environ.get('BROKER', '127.0.0.1:1883')

(pipy()
 .listen(LISTEN, idle_timeout=0)
 .accept_tunnel()
 # A QoS 0 publish gets no answer, so no read timeout; the broker's keep-alive check watches each device.
 .to(lambda p: p.connect(BROKER, read_timeout=0, idle_timeout=0)))
