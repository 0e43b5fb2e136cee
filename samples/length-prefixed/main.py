"""A service speaking a length-prefixed binary protocol, parsed with deframe.

    LISTEN=9000 MAX_FRAME=65536 pipyx samples/length-prefixed/main.py

A frame is a 4-byte big-endian length followed by that many bytes of payload. Each frame a client sends is a message
to the script (here: answered with the payload upper-cased, in a frame of its own). A frame announcing more than
MAX_FRAME bytes ends the connection: the rest of the stream is not read into messages.
"""
import logging
import os

from pipyx import Data, MessageEnd, MessageStart, StreamEnd, pipy

LISTEN = os.environ.get('LISTEN', '9000')
MAX_FRAME = int(os.environ.get('MAX_FRAME', '65536'))

log = logging.getLogger('length-prefixed')


def header_begins(byte):
    # The first byte of a length: read the other three into the same list.
    return ['length', 3, [byte]]


def length(header):
    n = int.from_bytes(bytes(header), 'big')
    if n > MAX_FRAME:
        log.warning('a frame of %d bytes is over MAX_FRAME (%d): closing', n, MAX_FRAME)
        return [StreamEnd('ProtocolError'), 'refused']
    if n == 0:
        return [MessageStart(), MessageEnd(), 'header']
    return [MessageStart(), 'payload', n, Data()]


def payload(body):
    return [body, MessageEnd(), 'header']


def answer(message):
    reply = message.body.to_bytes().upper()
    return Data(len(reply).to_bytes(4, 'big') + reply)


(pipy()
 .listen(LISTEN)
 .deframe({
     'header': header_begins,
     'length': length,
     'payload': payload,
     'refused': 'refused',          # after a refused frame every byte stays here
 })
 .replace_message(answer))
