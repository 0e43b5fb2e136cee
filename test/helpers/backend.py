"""test/helpers/backend_app.py, the HTTP origin server the proxy tests put pipyx in front of, as a process; the scripts
that put it there, and what it answers."""
import json
import os
import sys

from .backend_app import big_chunk as big_pattern  # noqa: F401  (the bytes its /big/<n> sends at [offset, offset + n))
from .clients import simple_request
from .processes import Process
from .sockets import free_port

APP = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'backend_app.py')

# pipyx as an HTTP proxy and as a TCP relay in front of the backend (% {'port', 'backend', 'connect_opts'})
PROXY = '''
from pipyx import pipy
pipy().listen('127.0.0.1:%(port)d').demux_http().to(
    lambda p: p.mux_http().to(lambda p: p.connect('127.0.0.1:%(backend)d')))
'''

RELAY = '''
from pipyx import pipy
pipy().listen('127.0.0.1:%(port)d').connect('127.0.0.1:%(backend)d'%(connect_opts)s)
'''


class Backend(Process):
    """backend_app.py on a free port, ready when constructed."""

    def __init__(self, log_dir=None):
        self.port = free_port()
        super().__init__([sys.executable, APP, self.port], log_dir=log_dir, name='backend')
        self.wait_ready(self.port)


def json_of(resp):
    """The JSON body of a 200 response."""
    assert resp.status == 200, (resp.status, resp.body[:300])
    return json.loads(resp.body)


def echo_of(resp):
    """What the backend's /echo saw, from its 200 answer; doc['hmap'] has the header fields by lower-case name."""
    doc = json_of(resp)
    doc['hmap'] = {}
    for k, v in doc['headers']:
        doc['hmap'].setdefault(k.lower(), []).append(v)
    return doc


def backend_stats(backend_port):
    """The backend's own view of its connections, asked directly (not through pipyx)."""
    return json_of(simple_request(backend_port, '/stats', headers={'Connection': 'close'}))
