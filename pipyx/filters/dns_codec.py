"""decode_dns / encode_dns: DNS messages (pipyx.dns.DnsMessage heads) over UDP datagrams and TCP streams."""
from .._native import DecodeDNS, EncodeDNS
from ..builder import PipelineBuilder
from ..errors import ScriptError, caller_location

TRANSPORTS = ('auto', 'udp', 'tcp')


def transport_option(filter_name, transport):
    if transport not in TRANSPORTS:
        raise ScriptError("%s(): transport is 'auto', 'udp' or 'tcp', not %r" % (filter_name, transport),
                          *caller_location())
    return transport


class DnsCodecMixin(PipelineBuilder):
    def decode_dns(self, *, transport='auto'):
        """Decodes DNS messages: each comes out as MessageStart(DnsMessage), MessageEnd (no body). Over UDP each
        datagram (each message coming in) is one DNS message; over TCP each is preceded by its length in two
        bytes and may be split or run together with others anyhow. transport='auto' (the default) tells them
        apart by what arrives: messages are datagrams, bare Data is a TCP stream (and encode_dns on the same stream
        then frames its output for TCP too); 'udp' or 'tcp' says which. The head's .tcp says which it came by.
        A malformed message (a compression pointer loop, a label over 63 bytes, a name over 255, a count that
        lies, a record past the end) is dropped and logged (one line per 10 s at most); a zero-length TCP frame
        ends the stream with ProtocolError."""
        return self.append(DecodeDNS(transport_option('decode_dns', transport)))

    def encode_dns(self, *, transport='auto'):
        """Encodes each message as DNS wire bytes: its head is a DnsMessage (written back byte for byte when no
        question, record or EDNS option was changed), a dict of DnsMessage's fields, or None with the wire bytes
        as its body. Over UDP each goes out as one message (a datagram); over TCP as bytes with a 2-byte length
        prefix. transport='auto' frames for TCP when decode_dns saw a TCP stream on this stream, else for UDP."""
        return self.append(EncodeDNS(transport_option('encode_dns', transport)))
