"""accept_tls, connect_tls and handle_tls_client_hello: TLS as filters (the engine is OpenSSL, see docs/design.md)."""
from .._native import AcceptTLS, ConnectTLS, HandleTlsClientHello, TlsContext, TlsError
from ..builder import PipelineBuilder
from ..errors import ScriptError, caller_location


def _context(server, **options):
    try:
        return TlsContext(server, options)
    except TlsError as e:
        raise ScriptError(str(e), *caller_location()) from None


class TlsMixin(PipelineBuilder):
    def accept_tls(self, target=None, *, certificate=None, trusted=None, verify=None, alpn=None, min_version=None,
                   max_version=None, ciphers=None, handshake=None, handshake_timeout=10.0):
        """Terminates TLS: the stream is a client's TLS; once the handshake is done, its plain bytes go through an
        instance of the sub-pipeline (target, or the one given by the following .to()), and what that outputs goes
        back to the client encrypted.

        certificate: the server's certificate chain and key, {'cert': ..., 'key': ...} or (cert, key), each PEM
        text or the name of a PEM file (the chain's first certificate is the server's); or a callable given the SNI
        name the client asked for (None without one) that returns such a pair, or None to refuse the name. The
        callable runs once per name; the certificates it gives are loaded once and kept.
        trusted: the CAs (PEM text or file, or a list of them) that client certificates are checked against.
        verify: whether to ask for a client certificate: None (default) requires one when trusted is given; True
        requires one; 'optional' asks for one and checks it if given; False does not ask; a callable(ok, cert)
        requires one and decides: ok says whether OpenSSL found the chain good, cert is a TlsCertificate.
        alpn: the protocols offered ('http/1.1', or a list in order of preference), or a callable given the
        client's list that returns the chosen name (or None for none).
        min_version / max_version: 'TLSv1.2', 'TLSv1.3'. ciphers: an OpenSSL cipher list for TLS 1.2 and below.
        handshake: a callable given the TlsInfo when the handshake is done (also ctx.tls from then on).
        handshake_timeout: seconds from the connection to the end of the handshake (0: none); when it passes, or
        the handshake fails, the connection ends with one log line saying why.
        """
        config = _context(True, certificate=certificate, trusted=trusted, verify=verify, alpn=alpn,
                          min_version=min_version, max_version=max_version, ciphers=ciphers)
        if certificate is None:
            raise ScriptError('accept_tls(): certificate is needed', *caller_location())
        ref = self.sub(target)
        return self.append(AcceptTLS(config, ref, handshake, float(handshake_timeout or 0)))

    def connect_tls(self, target=None, *, sni=None, alpn=None, trusted=None, verify=True, certificate=None,
                    min_version=None, max_version=None, ciphers=None, handshake=None, handshake_timeout=10.0):
        """Originates TLS: the stream's plain bytes go out encrypted through an instance of the sub-pipeline
        (target, or the one given by the following .to()), typically `connect('host:443')`; what comes back is
        decrypted and output. `mux_http().to(lambda p: p.connect_tls().to(lambda p: p.connect(...)))` is an HTTPS
        keep-alive pool.

        sni: the server name to ask for and to check the certificate against (a value, or a callable evaluated
        when the stream starts); by default the host of the connect() the sub-pipeline starts with. An IP address
        is checked against the certificate's IP names and not sent as SNI.
        trusted: CAs (PEM text or file, or a list) the server's chain must lead to; the system's store by default.
        verify: True (default) checks chain and name; False checks nothing; a callable(ok, cert) decides.
        certificate: a client certificate and key for upstream mutual TLS, as for accept_tls.
        alpn: the protocols to offer (a name or a list). min_version, max_version, ciphers: as for accept_tls.
        handshake: a callable given the TlsInfo when the handshake is done (resumed tells whether a session of an
        earlier connection to the same server was resumed: they are kept per name and server).
        handshake_timeout: seconds for the handshake (0: none). A failed handshake ends the stream with
        ProtocolError (mux_http answers 502) and one log line naming the reason (a name mismatch, an untrusted
        chain, an expired certificate).
        """
        if certificate is not None and callable(certificate):
            raise ScriptError('connect_tls(): certificate is a pair, not a callable', *caller_location())
        config = _context(False, certificate=certificate, trusted=trusted, verify=verify, alpn=alpn,
                          min_version=min_version, max_version=max_version, ciphers=ciphers)
        ref = self.sub(target)
        return self.append(ConnectTLS(config, ref, sni, handshake, float(handshake_timeout or 0)))

    def handle_tls_client_hello(self, callback):
        """Reads the ClientHello a TLS stream starts with, without terminating TLS, and calls callback with a
        TlsClientHello (sni: the name asked for, or None; alpn: the protocols offered; versions: the TLS versions
        offered). The stream's bytes wait until the callback has run, then go on untouched, so a branch() or
        connect() after it can route on what the callback set: an SNI router. A stream that does not start with a
        ClientHello (plain text, garbage, a hello over 16 KiB) ends with ProtocolError and one log line."""
        if not callable(callback):
            raise ScriptError('handle_tls_client_hello(): callback is a function', *caller_location())
        return self.append(HandleTlsClientHello(callback))
