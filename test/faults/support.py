"""What the fault tests share: a reverse proxy (demux_http -> mux_http -> connect) started in front of a
ScriptedUpstream, with the options a test gives, and a look at what its process logged."""
import time

from test.helpers import FAST_STOP, RawClient, free_port

PROXY = '''
from pipyx import pipy

pipy().listen('127.0.0.1:{port}'{listen}).demux_http({demux}).to(
    lambda p: p.mux_http({mux}).to(lambda p: p.connect('{upstream}'{connect})))
'''


def options(**kw):
    return ''.join(', %s=%r' % kv for kv in kw.items())


class Proxy:
    def __init__(self, procs, tmp, upstream, listen=None, demux=None, mux=None, connect=None, script=PROXY):
        self.port = free_port()
        text = script.format(port=self.port, upstream=upstream.address, listen=options(**(listen or {})),
                             demux=options(**(demux or {})).lstrip(', '), mux=options(**(mux or {})).lstrip(', '),
                             connect=options(**(connect or {})))
        path = tmp / 'main.py'
        path.write_text(text)
        self.proc = procs.pipyx([str(path)] + FAST_STOP, port=self.port, cwd=str(tmp))

    def log(self):
        return self.proc.log()

    def client(self, timeout=10.0):
        return RawClient(self.port, timeout)


def timed_response(client, request):
    """Sends request on client; (response, seconds it took)."""
    t0 = time.monotonic()
    client.send(request)
    r = client.read_response()
    return r, time.monotonic() - t0
