"""samples/proxy-cache: its upstream and its caching proxy as real pipyx processes on 127.0.0.1."""
import os
import time

from test.helpers import ROOT, PipyxProcess, free_port, simple_request


def test_the_sample(tmp_path):
    sample = os.path.join(ROOT, 'samples', 'proxy-cache')
    up_port, port = free_port(), free_port()
    procs = [PipyxProcess([os.path.join(sample, 'upstream.py')], cwd=str(tmp_path),
                          env={'PORT': str(up_port)}).wait_ready(up_port)]
    try:
        procs.append(PipyxProcess([sample], cwd=str(tmp_path), env={
            'PORT': str(port), 'UPSTREAM': '127.0.0.1:%d' % up_port}).wait_ready(port))
        first = simple_request(port, '/time')
        second = simple_request(port, '/time')
        assert first.status == 200 and first.body == second.body
        assert (first.header('x-cache'), second.header('x-cache')) == ('miss', 'hit')
        assert simple_request(port, '/no-store').body != simple_request(port, '/no-store').body
        t = time.monotonic()
        simple_request(port, '/slow')
        simple_request(port, '/slow')
        assert time.monotonic() - t < 1.5                   # the second one did not wait for the upstream
    finally:
        for p in procs:
            p.stop()
