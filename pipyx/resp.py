"""What a script uses with decode_resp / encode_resp: the head of a RESP frame, the values a reply holds, and
helpers that build commands and replies."""
from ._native import (RespBigNumber, RespError, RespHead, RespProtocolError, RespPush, RespSet, RespVerbatim,
                      resp_command, resp_encode)

__all__ = ['RespHead', 'RespError', 'RespVerbatim', 'RespBigNumber', 'RespSet', 'RespPush', 'RespProtocolError',
           'resp_command', 'resp_encode']
