"""The edge of the IoT muxer: MQTT devices connect here, and their connections travel to the cloud inside at most
TUNNELS long-lived tunnel connections. Each device keeps its own channel, so the broker still sees one MQTT session
per device (see cloud.py, and docs/tunnel.md for the framing).

    LISTEN=1883 CLOUD=cloud.example:9883 TUNNELS=4 pipyx samples/mqtt-muxer/edge.py
"""
import os

from pipyx import pipy

LISTEN = os.environ.get('LISTEN', '1883')
CLOUD = os.environ.get('CLOUD', '127.0.0.1:9883')
TUNNELS = int(os.environ.get('TUNNELS', '4'))

(pipy()
 # No idle timeout for devices: the broker enforces each device's MQTT keep-alive, and when it drops a device the
 # end comes back through the tunnel and closes the device's connection here.
 .listen(LISTEN, idle_timeout=0)
 .connect_tunnel(max_sessions=TUNNELS)
 # The tunnel's liveness is connect_tunnel's PING (every 15 s of silence), not connect's timeouts.
 .to(lambda p: p.connect(CLOUD, read_timeout=0, idle_timeout=0)))
