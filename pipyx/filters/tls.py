"""accept_tls, connect_tls and handle_tls_client_hello: TLS as filters (the engine is OpenSSL, see docs/design.md)."""
import os

from .._native import AcceptTLS, ConnectTLS, HandleTlsClientHello, TlsContext, TlsError
from ..builder import PipelineBuilder
from ..errors import ScriptError, caller_location
from ..program import current_program


def _context(builder, server, **options):
    # File names are the script's directory's, as serve_files' are: a codebase carries its certificates with it
    # (from a repo too), wherever pipyx runs from.
    filename = builder._module.filename
    base = os.path.dirname(filename) if filename and not filename.startswith('<') else None
    program = current_program()
    for name in ('certificate', 'trusted'):
        value = options.get(name)
        if callable(value):
            options[name] = _resolving(value, base, program)
        else:
            options[name] = _resolved(value, base)
    try:
        config = TlsContext(server, options)
    except TlsError as e:
        raise ScriptError(str(e), *caller_location()) from None
    if program is not None:
        for name in ('certificate', 'trusted'):
            program.files.update(_pem_files(options.get(name)))
    return config


def _is_file_name(value):
    return isinstance(value, str) and '-----BEGIN' not in value


def _resolved(value, base):
    # A PEM value (a pair, a dict, a list, PEM text, a file name) with its relative file names made absolute.
    if isinstance(value, dict):
        return {k: _resolved(v, base) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_resolved(v, base) for v in value)
    if _is_file_name(value) and base is not None and not os.path.isabs(value):
        return os.path.join(base, value)
    return value


def _resolving(certificate, base, program):
    # A certificate callable runs once per SNI name, at a handshake: what it names is resolved as a pair given at
    # once would be, and joins the files --watch watches for the version it belongs to.
    def pair_for(name):
        pair = _resolved(certificate(name), base)
        if program is not None:
            program.files.update(_pem_files(pair))
        return pair
    return pair_for


def _pem_files(value):
    # The files among PEM values, as absolute paths: --watch watches them.
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [path for item in value for path in _pem_files(item)]
    if _is_file_name(value):
        return [os.path.abspath(value)]
    return []


def _size(name, option, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ScriptError('%s(): %s is a number of bytes (0: no limit), not %r' % (name, option, value),
                          *caller_location())
    return value


class TlsMixin(PipelineBuilder):
    def accept_tls(self, target=None, *, certificate=None, trusted=None, verify=None, alpn=None, min_version=None,
                   max_version=None, ciphers=None, ciphersuites=None, handshake=None, handshake_timeout=10.0,
                   max_hello_size=16384):
        """Terminates TLS: the stream is a client's TLS; once the handshake is done, its plain bytes go through an
        instance of the sub-pipeline (target, or the one given by the following .to()), and what that outputs goes
        back to the client encrypted.

        certificate: the server's certificate chain and key, {'cert': ..., 'key': ...} or (cert, key), each PEM
        text or the name of a PEM file, relative to the script's directory (the chain's first certificate is the
        server's); or a callable given the SNI
        name the client asked for (None without one) that returns such a pair, or None to refuse the name. The
        callable runs once per name; the certificates it gives are loaded once and kept.
        trusted: the CAs (PEM text or file, or a list of them) that client certificates are checked against.
        verify: whether to ask for a client certificate: None (default) requires one when trusted is given; True
        requires one; 'optional' asks for one and checks it if given; False does not ask; a callable(ok, cert)
        requires one and decides: ok says whether OpenSSL found the chain good, cert is a TlsCertificate.
        alpn: the protocols offered ('http/1.1', or a list in order of preference), or a callable given the
        client's list that returns the chosen name (or None for none).
        min_version / max_version: 'TLSv1.2', 'TLSv1.3'. ciphers: an OpenSSL cipher list for TLS 1.2 and below.
        ciphersuites: the TLS 1.3 cipher suites, in order of preference ('TLS_AES_128_GCM_SHA256:...' or a list);
        OpenSSL's default set when not given.
        handshake: a callable given the TlsInfo when the handshake is done (also ctx.tls from then on).
        handshake_timeout: seconds from the connection to the end of the handshake (0: none); when it passes, or
        the handshake fails, the connection ends with one log line saying why.
        max_hello_size: the largest ClientHello taken, in bytes of its handshake message (default 16384, 0: only
        OpenSSL's own limit); a longer one ends the connection with one log line before any of it is buffered.
        """
        config = _context(self, True, certificate=certificate, trusted=trusted, verify=verify, alpn=alpn,
                          min_version=min_version, max_version=max_version, ciphers=ciphers,
                          ciphersuites=ciphersuites)
        if certificate is None:
            raise ScriptError('accept_tls(): certificate is needed', *caller_location())
        ref = self.sub(target)
        return self.append(AcceptTLS(config, ref, handshake, float(handshake_timeout or 0),
                                     _size('accept_tls', 'max_hello_size', max_hello_size)))

    def connect_tls(self, target=None, *, sni=None, alpn=None, trusted=None, verify=True, certificate=None,
                    min_version=None, max_version=None, ciphers=None, ciphersuites=None, handshake=None,
                    handshake_timeout=10.0, max_pending_size=1 << 20):
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
        alpn: the protocols to offer (a name or a list). min_version, max_version, ciphers, ciphersuites: as for
        accept_tls.
        handshake: a callable given the TlsInfo when the handshake is done (resumed tells whether a session of an
        earlier connection to the same server was resumed: they are kept per name and server).
        handshake_timeout: seconds for the handshake (0: none). A failed handshake ends the stream with
        ProtocolError (mux_http answers 502) and one log line naming the reason (a name mismatch, an untrusted
        chain, an expired certificate).
        max_pending_size: the plain bytes held while the handshake runs (default 1 MiB, 0: no limit); the stream
        fails with BufferOverflow and one log line when more come before the handshake is done.
        """
        if certificate is not None and callable(certificate):
            raise ScriptError('connect_tls(): certificate is a pair, not a callable', *caller_location())
        config = _context(self, False, certificate=certificate, trusted=trusted, verify=verify, alpn=alpn,
                          min_version=min_version, max_version=max_version, ciphers=ciphers,
                          ciphersuites=ciphersuites)
        ref = self.sub(target)
        return self.append(ConnectTLS(config, ref, sni, handshake, float(handshake_timeout or 0),
                                      _size('connect_tls', 'max_pending_size', max_pending_size)))

    def handle_tls_client_hello(self, callback, *, max_hello_size=16384):
        """Reads the ClientHello a TLS stream starts with, without terminating TLS, and calls callback with a
        TlsClientHello (sni: the name asked for, or None; alpn: the protocols offered; versions: the TLS versions
        offered). The stream's bytes wait until the callback has run, then go on untouched, so a branch() or
        connect() after it can route on what the callback set: an SNI router. A stream that does not start with a
        ClientHello (plain text, garbage, a hello over max_hello_size) ends with ProtocolError and one log line.
        max_hello_size: the largest ClientHello read, in bytes of its handshake message (default 16384); the stream's
        bytes are held until it is whole, so this bounds what is held."""
        if not callable(callback):
            raise ScriptError('handle_tls_client_hello(): callback is a function', *caller_location())
        size = _size('handle_tls_client_hello', 'max_hello_size', max_hello_size)
        if size == 0:
            raise ScriptError('handle_tls_client_hello(): max_hello_size must be positive: it bounds what is held',
                              *caller_location())
        return self.append(HandleTlsClientHello(callback, size))
