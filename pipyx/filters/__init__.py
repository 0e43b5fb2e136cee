"""The filters a script chains. Importing this package adds each filter's method to Configuration."""
from . import (serve_http, demux_http, mux_http, http_codec, connect, handle, replace, debug, link, branch, fork,
               use, wait, tunnel, throttle, mqtt_codec, serve_files, proxy_cache)  # noqa: F401
