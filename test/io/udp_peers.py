"""UDP peers for the UDP tests, run as programs: `python test/io/udp_peers.py echo|dns PORT`.

echo  each datagram back as it came; `port?` is answered with the sender's port (which socket a relay used)
dns   answers every DNS query with one A record, 192.0.2.1, for the name asked (what dig needs to be content)
"""
import socket
import struct
import sys
import time


def dns_answer(query):
    # header: same id, QR + RD + RA, one question, one answer; the question copied; the answer points at it
    qid = query[:2]
    end = 12
    while query[end] != 0:
        end += query[end] + 1
    question = query[12:end + 5]
    header = qid + struct.pack('!HHHHH', 0x8180, 1, 1, 0, 0)
    answer = struct.pack('!HHHIH', 0xC00C, 1, 1, 60, 4) + bytes([192, 0, 2, 1])
    return header + question + answer


def serve(mode, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', port))
    while True:
        data, addr = s.recvfrom(65535)
        if mode == 'dns':
            reply = dns_answer(data)
        elif data == b'port?':
            reply = str(addr[1]).encode()
        else:
            reply = data
        s.sendto(reply, addr)


def ask(port, data, timeout=1.0, sock=None):
    """Sends one datagram to 127.0.0.1:port and returns the first datagram back, or None at the timeout."""
    own = sock is None
    s = sock or socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.sendto(data, ('127.0.0.1', port))
        try:
            return s.recvfrom(65535)[0]
        except socket.timeout:
            return None
    finally:
        if own:
            s.close()


def wait_udp(port, timeout=10.0, data=b'port?'):
    """Waits until something answers on UDP port (a program that has just started)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ask(port, data, 0.2) is not None:
            return True
    raise AssertionError('nothing answers on udp port %d' % port)


if __name__ == '__main__':
    serve(sys.argv[1], int(sys.argv[2]))
