"""accept_proxy_protocol and connect_proxy_protocol: the PROXY protocol (v1 and v2) that tells a server whom a proxied
connection really came from."""
from .._native import AcceptProxyProtocol, ConnectProxyProtocol
from ..builder import PipelineBuilder


class ProxyProtocolMixin(PipelineBuilder):
    def accept_proxy_protocol(self, on_header=None, target=None, *, max_header_size=4096):
        """Reads the PROXY protocol header (version 1 or 2, whichever comes) from the start of the stream, then sends
        the rest of the stream through the sub-pipeline (target, or the one given by the following .to()), whose
        output is this filter's output.

        From then on ctx.inbound gives the addresses the header carries: remote_address/remote_port are the
        client's (the header's source), local_address/local_port the address it connected to (its destination);
        ctx.inbound.proxy_header is the header itself (version, command 'PROXY' or 'LOCAL', transport 'TCP4', 'TCP6',
        ..., tlvs {type: bytes}), and ctx.inbound.via the connection it came over. A LOCAL (v2) or UNKNOWN (v1)
        header keeps the connection's own addresses.

        on_header(header): called with the ProxyHeader; returning False refuses the connection. A stream that does
        not start with a valid header (another protocol, a v1 line over 107 bytes, a v2 length that does not hold
        its addresses or TLVs, a header longer than max_header_size bytes) is closed with one log line.
        """
        ref = self.sub(target)
        return self.append(AcceptProxyProtocol(ref, on_header, int(max_header_size)))

    def connect_proxy_protocol(self, version=1, target=None, *, addresses=None, tlvs=None):
        """Sends a PROXY protocol header of version 1 or 2 into the sub-pipeline (target, or the one given by the
        following .to(), typically connect(upstream)) ahead of the stream's first byte, then the stream; the
        sub-pipeline's output is this filter's output. The header carries ctx.inbound's addresses (the client's as
        source, the address it connected to as destination), or the ((address, port), (address, port)) that
        addresses() returns; None from it, or a stream without addresses, sends v1 UNKNOWN / v2 LOCAL. tlvs (v2
        only): {type: bytes}, or a callable returning it, evaluated per stream.
        """
        ref = self.sub(target)
        return self.append(ConnectProxyProtocol(ref, int(version), addresses, tlvs))
