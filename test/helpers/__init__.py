"""What tests in every area use, imported from here: `from test.helpers import free_port, wait_for`.

waiting      wait_for
sockets      free_port, listening, wait_port, established, refuses, closed_within
processes    ROOT, Process, PipyxProcess, Processes, ScriptOnPorts, FAST_STOP, stop_process, alive, vm_rss_kb, open_fds, no_traceback
peers        missing_peer, lacks, headless_chromium
clients      RawClient, Response, ClosedByPeer, req, simple_request, get, answer, request
backend      Backend (backend_app.py, the HTTP origin server), PROXY and RELAY scripts, big_pattern, json_of,
             echo_of, backend_stats
repo         RepoServer, REPO_TOKEN
tls          certificates
streams      pipelines driven in the test process: feed, summary, until... (`from test.helpers.streams import`:
             it loads pipyx's native module, which the rest of the tests need only in the processes they start)

Support that only one area needs lives next to its tests (test/mqtt/support.py, test/filters/tunnel_support.py...).
"""
from .backend import PROXY, RELAY, Backend, backend_stats, big_pattern, echo_of, json_of
from .clients import ClosedByPeer, RawClient, Response, answer, get, req, request, simple_request
from .peers import PEERS_REQUIRED, headless_chromium, lacks, missing_peer
from .processes import (FAST_STOP, ROOT, PipyxProcess, Process, Processes, ScriptOnPorts, alive, no_traceback, open_fds,
                        stop_process, vm_rss_kb)
from .repo import REPO_TOKEN, RepoServer
from .sockets import closed_within, established, free_port, listening, refuses, wait_port
from .tls import certificates
from .waiting import wait_for

__all__ = [
    'PROXY', 'RELAY', 'Backend', 'backend_stats', 'big_pattern', 'echo_of', 'json_of',
    'ClosedByPeer', 'RawClient', 'Response', 'answer', 'get', 'req', 'request', 'simple_request',
    'PEERS_REQUIRED', 'headless_chromium', 'lacks', 'missing_peer',
    'FAST_STOP', 'ROOT', 'PipyxProcess', 'Process', 'Processes', 'ScriptOnPorts', 'alive', 'no_traceback', 'open_fds', 'stop_process',
    'vm_rss_kb',
    'REPO_TOKEN', 'RepoServer',
    'closed_within', 'established', 'free_port', 'listening', 'refuses', 'wait_port',
    'certificates',
    'wait_for',
]
