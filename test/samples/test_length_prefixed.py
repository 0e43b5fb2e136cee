"""End-to-end test of samples/length-prefixed: frames sent whole, split anywhere and run together, an empty frame,
and a frame over MAX_FRAME that ends the connection, against a real pipyx process."""
import os
import random
import socket
import struct

from test.helpers import ROOT, free_port

SAMPLE = os.path.join(ROOT, 'samples', 'length-prefixed', 'main.py')


def frame(payload):
    return struct.pack('>I', len(payload)) + payload


def read_frames(s, count):
    got = b''
    frames = []
    while len(frames) < count:
        b = s.recv(65536)
        assert b, 'closed after %d frames' % len(frames)
        got += b
        while len(got) >= 4 and len(got) >= 4 + struct.unpack('>I', got[:4])[0]:
            n = struct.unpack('>I', got[:4])[0]
            frames.append(got[4:4 + n])
            got = got[4 + n:]
    return frames


def test_the_sample_answers_each_frame_however_it_is_cut(processes):
    port = free_port()
    processes.pipyx([SAMPLE], port=port, env={'LISTEN': str(port), 'MAX_FRAME': '100000'})
    payloads = [b'hello', b'', b'x' * 70000] + [bytes(random.choice(b'abc') for _ in range(random.randint(1, 50)))
                                                   for _ in range(50)]
    wire = b''.join(frame(p) for p in payloads)
    with socket.create_connection(('127.0.0.1', port), timeout=10) as s:
        i = 0
        while i < len(wire):
            n = random.randint(1, 300)
            s.sendall(wire[i:i + n])
            i += n
        assert read_frames(s, len(payloads)) == [p.upper() for p in payloads]


def test_a_frame_over_max_frame_closes_the_connection(processes):
    port = free_port()
    processes.pipyx([SAMPLE], port=port, env={'LISTEN': str(port), 'MAX_FRAME': '16'})
    with socket.create_connection(('127.0.0.1', port), timeout=10) as s:
        s.sendall(frame(b'fine'))
        assert read_frames(s, 1) == [b'FINE']
        s.sendall(frame(b'y' * 17) + frame(b'never answered'))
        rest = b''
        while True:
            try:
                b = s.recv(1024)
            except ConnectionResetError:
                break
            if not b:
                break
            rest += b
        assert rest == b''
